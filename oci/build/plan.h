// Dockerfile + build options + what the store and the context hold -> a BuildPlan: for every stage
// the target needs (dependencies first), its base, each instruction after substitution, what it
// does to the config, its history line and, for steps that make layers (RUN, COPY, ADD,
// WORKDIR), what to run or copy and the layer cache key. Pure planning: nothing is built here, so
// the plan is unit-tested without root; oci/build_engine.h applies it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/build/config_edit.h"
#include "oci/build/copy.h"
#include "oci/build/download.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/stages.h"
#include "oci/image_spec.h"
#include "oci/store/image_store.h"

namespace slipway::oci {

struct BuildOptions {
  VarMap build_args;              // --build-arg
  std::string target;             // --target
  std::string network = "default";  // default | none | host: RUN's network unless RUN --network says
  int64_t source_date_epoch = 0;  // clamps every time in the image
  Platform platform = host_platform();
  // Where ADD <URL> downloads go while planning (unlinked temp files); "" means $TMPDIR or
  // /var/tmp. The store's tmp dir is the right place.
  std::string download_dir;
};

// An image named by FROM or COPY --from, as the store has it.
struct SourceImage {
  Image image;
  BuildConfig config;
};

// What planning needs from the world; the engine implements it over the store and the context.
class PlanInputs {
 public:
  virtual ~PlanInputs() = default;
  virtual Result<SourceImage> image(std::string_view ref) = 0;
  // Digest of COPY/ADD sources in the build context (see sources_digest).
  virtual Result<std::string> context_digest(const std::vector<std::string>& sources) = 0;
  // Fetches an ADD <URL> into an unlinked file in `dir`: planning does (its content digest is
  // part of the cache key), and so does the engine for ADD --checksum. Over HTTP by default.
  virtual Result<Download> fetch_url(const std::string& url, const std::string& dir,
                                     const DownloadOptions& options);
};

enum class StepKind { kConfig, kRun, kCopy, kWorkdir };

struct RunStep {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // K=V: ENV, then ARGs, then proxy build args
  std::string cwd = "/";
  std::string user;
  std::string network;                   // default | none | host
  std::optional<InlineFile> executable;  // RUN <<EOF with a #! script, run from...
  std::string executable_path;           // ...this path
};

// ADD <URL>: one URL source as planning left it.
struct UrlSource {
  std::string url;
  std::string name;      // its file name under a directory destination (url_file_name)
  std::string checksum;  // --checksum, normalised; "" when not given
  std::string digest;    // of the content, for the cache key: --checksum's, or the download's
  // Fetched while planning when there is no --checksum; with one, the engine fetches on a miss.
  std::shared_ptr<const Download> download;
};

struct CopyStep {
  bool add = false;
  CopyRequest request;          // sources: the local ones only
  std::vector<UrlSource> urls;  // ADD's URL sources, written after the local ones
  std::string chown, chmod;
  std::optional<std::size_t> from_stage;  // --from a stage (Dockerfile stage index)
  std::optional<SourceImage> from_image;  // --from an image
};

struct PlannedStep {
  StepKind kind = StepKind::kConfig;
  Instruction instruction;  // after substitution
  std::string created_by;   // its history line
  std::string key;          // layer steps: cache key (it chains the stage's layer steps)
  RunStep run;              // kRun
  CopyStep copy;            // kCopy
  std::string workdir;      // kWorkdir: the absolute directory to make
  std::string user;         // kWorkdir: USER at that point, owner of a new directory
};

struct PlannedStage {
  std::size_t index = 0;
  std::string name;  // "" when the FROM has no AS
  std::string from;  // the FROM's image as substituted ("scratch", a stage name, a reference)
  int line = 0;
  std::optional<std::size_t> base_stage;
  std::optional<SourceImage> base_image;  // neither base_stage nor base_image: scratch
  std::vector<PlannedStep> steps;
  // The config after the last step. history and diff_ids are the base image's; the engine
  // replaces them with what the build made.
  StageConfig config;
  std::string base_key;   // cache key of the stage's starting point
  std::string final_key;  // cache key after its last layer step: names its root file system
  // "[name]" or "[stage-N]" for progress lines.
  std::string label() const;
};

struct BuildPlan {
  std::string file;                  // the Dockerfile's name in messages
  std::vector<PlannedStage> stages;  // by Dockerfile stage index; only needed ones are planned
  std::vector<std::size_t> build_order;
  std::size_t target = 0;
  std::vector<std::string> warnings;
  int64_t source_date_epoch = 0;
};

// Platform args Docker predefines for FROM and ARG (TARGETPLATFORM, BUILDARCH, ...).
VarMap predefined_platform_args(const Platform& platform);

Result<BuildPlan> plan_build(const Dockerfile& dockerfile, const BuildOptions& options,
                             PlanInputs& inputs);

}  // namespace slipway::oci
