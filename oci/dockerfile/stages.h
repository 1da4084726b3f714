// Build stages: the parsed Dockerfile plus build args -> the stages to build, each with its base
// image (after substitution with the global ARGs), name, index and instructions; --target and
// COPY --from resolved; and the variable scope a stage is built in.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/substitution.h"

namespace slipway::oci {

struct StageOptions {
  VarMap build_args;       // --build-arg NAME=VALUE
  VarMap predefined_args;  // e.g. TARGETPLATFORM: global values that need no ARG to be seen
  std::string target;      // --target; empty builds the last stage
};

// Where one COPY --from takes its files: a stage of this Dockerfile or an image.
struct CopyFrom {
  std::size_t instruction = 0;       // index into Stage::instructions
  std::optional<std::size_t> stage;  // set when --from names a stage (by name or index)
  std::string image;                 // otherwise the image reference, after substitution
};

struct Stage {
  std::size_t index = 0;
  std::string name;                       // lower case; "" when the FROM has no AS
  std::string base;                       // FROM's image after substitution with the global ARGs
  std::string platform;                   // FROM --platform after substitution, or ""
  std::optional<std::size_t> base_stage;  // FROM names an earlier stage
  bool scratch = false;                   // FROM scratch: an empty root file system
  std::vector<Instruction> instructions;  // after the FROM, up to the next FROM
  std::vector<CopyFrom> copy_from;
  int line = 0;                     // line of the FROM
  std::set<std::string> used_args;  // global ARGs the FROM line used
};

struct StagePlan {
  std::vector<ArgDecl> global_args;  // ARGs before the first FROM, as declared
  VarMap global_values;              // predefined args, then global ARGs (build args win)
  std::vector<Stage> stages;
  std::size_t target = 0;                      // the stage to build
  std::vector<std::size_t> build_order;        // stages the target needs, dependencies first
  std::vector<std::string> unused_build_args;  // build args no ARG of those stages declares
};

// Errors name the file and line: "Dockerfile:9: COPY --from=bulid: ..." and
// "Dockerfile: target stage "tset" could not be found (stages: base, test)".
Result<StagePlan> plan_stages(const Dockerfile& dockerfile, const StageOptions& options = {});

// Build args Docker passes to RUN without any ARG declaring them (and keeps out of the image).
bool is_proxy_arg(std::string_view name);

// The variables in scope while building one stage, with Docker's rules: ENV (the base image's and
// the stage's) beats ARG; an ARG takes the build arg, else its default, else the global value.
class StageVariables {
 public:
  StageVariables(VarMap build_args, VarMap global_values)
      : build_args_(std::move(build_args)), global_values_(std::move(global_values)) {}

  // "K=V" entries of the base image's config.
  void set_image_env(const std::vector<std::string>& env);
  void set_env(const std::string& key, const std::string& value) { env_[key] = value; }
  // decl as expanded by expand_instruction.
  void declare_arg(const ArgDecl& decl);
  // Records what an expanded ENV or ARG instruction sets; other instructions change nothing.
  void apply(const Instruction& expanded);

  // What $VARS of the next instruction see.
  VarMap substitution_vars() const;
  // "K=V" for a RUN: ENV, then ARGs that no ENV shadows, then undeclared proxy build args.
  std::vector<std::string> run_env() const;
  // The declared ARGs that have a value: what a RUN's cache key depends on besides its text.
  const VarMap& args() const { return args_; }
  const VarMap& env() const { return env_; }

 private:
  VarMap build_args_;
  VarMap global_values_;
  VarMap env_;
  VarMap args_;
};

}  // namespace slipway::oci
