// Internal to pipeline_file.cc and pipeline_file_steps.cc: the parser of one pipeline file, one
// method per section and shape over the readers of yaml_reader.h. Cross-references (a step's
// service set, the deploy network, app.port) are checked once the whole file is read, because YAML
// maps may list sections in any order.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "pipeline/pipeline_file.h"
#include "pipeline/yaml_reader.h"

namespace slipway::pipeline::file_parser {

inline constexpr size_t kMaxNameLength = 63;

// A path with a ".." element: what a repository writes must not climb out of where it is used.
inline bool has_dot_dot(const std::filesystem::path& p) { return std::find(p.begin(), p.end(), "..") != p.end(); }

// Names become container, DNS and image names: lowercase DNS-label-ish. App names may also hold
// '_' and '.', which image repositories allow.
inline bool is_name(std::string_view name, bool app) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > kMaxNameLength || !alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return alnum(c) || c == '-' || (app && (c == '_' || c == '.'));
  });
}

// Reads one pipeline file section by section with the shape readers it inherits.
class Parser : private YamlReader {
 public:
  explicit Parser(const std::string& file) : YamlReader(file) {}

  Result<PipelineSpec> parse(std::string_view text);

 private:
  // ---- readers for the pipeline's own shapes ----

  // A YAML list is the argv as is; a YAML string is a shell command line.
  Result<CommandLine> command(const Value& v) const;
  Status check_name(std::string_view name, bool app, int line, std::string_view path) const;
  Result<std::string> name(const Value& v, bool app) const;

  // Docker's pull policies: missing, always, never.
  Result<std::string> pull_policy(const Value& v) const;
  Result<std::string> image(const Value& v) const;

  // A path inside the repository: relative, with no ".." (it is resolved inside the checkout too).
  Result<std::string> repo_path(const Value& v) const;
  Result<std::string> tag(const Value& v) const;
  Result<ReadinessProbe> ready(const Value& v) const;
  Result<HealthSpec> healthcheck(const Value& v) const;

  // A probe without its own port uses the port of what it probes.
  Status default_probe_port(ReadinessProbe& probe, int port, int line,
                            std::string_view path) const;

  // ---- sections ----

  Status app(const Entry& section, AppSpec& app) const;
  Status service_sets(const Entry& section, PipelineSpec& spec) const;
  Result<ServiceSpec> service_spec(const Value& v) const;
  Result<std::vector<Snapshot>> snapshots(const Value& v) const;

  // ---- steps ----

  // `steps:` as a map (the seed's form: unit, integration, deploy, live, run in that order) or as
  // a list of named steps of any type.
  Status steps(const Entry& section, PipelineSpec& spec);

  // A step of the map form: the keys of its type, with `env` and `command`.
  Status seed_step(const Entry& step_entry, StepSpec& step);

  // A field most step types share; other keys are left alone.
  Status step_field(const Entry& e, StepSpec& step);

  // An image reference, `app`, or a text with ${VARIABLES} checked when the run is planned.
  Result<std::string> step_image(const Value& v) const;

  // Values of environment maps may use ${VARIABLES}.
  Result<std::map<std::string, std::string>> variable_map(const Value& v) const;

  // Text whose ${NAME}s are only known when a run starts: its syntax and names are checked now,
  // against the CI variables every run defines (CI_COMMIT_TAG and CI_COMMIT_BRANCH included).
  Status variables_known(const Value& v, std::string_view text) const;
  static bool is_variable_name(std::string_view name);

  // A string or a list of strings, as a list.
  Result<std::vector<std::string>> one_or_more(const Value& v) const;
  Result<StepType> step_type(const Value& v) const;
  Result<WhenSpec> when(const Value& v);

  // One item of the list form. Its messages name it as steps.NAME once its name is known.
  Result<StepSpec> listed_step(Value item);

  // `[NAME, {name: NAME, as: file}]`: environment variables by default.
  Result<std::vector<SecretUse>> secret_uses(const Value& v) const;

  // Patterns of paths in the workspace: relative, without "..".
  Result<std::vector<std::string>> workspace_globs(const Value& v) const;
  Result<std::vector<CacheSpec>> caches(const Value& v) const;
  Result<int> count(const Value& v) const;
  Result<std::string> step_network(const Value& v) const;

  // ---- the sections after the steps ----

  Status push(const Entry& section, PushSpec& push);
  Status environments(const Entry& section, PipelineSpec& spec) const;

  // ---- checks across sections ----

  Status check_references(PipelineSpec& spec) const;

  // Adds the implicit steps (the app's build; in the map form also push) and each step's
  // dependencies, then checks them: names that exist, no cycle.
  Status complete_steps(PipelineSpec& spec, int root_line);
  static StepSpec implicit_step(std::string name, StepType type, int line);
  static bool uses_app(const StepSpec& s);

  // What later checks need from earlier sections.
  std::map<std::string, int> step_lines_;
  std::map<std::string, int> service_lines_;  // steps whose services: were written, and where
  std::vector<std::tuple<int, std::string, std::vector<std::string>>> environment_refs_;
  bool steps_listed_ = false;
  int steps_line_ = 1;
  int repository_line_ = 1;
};

}  // namespace slipway::pipeline::file_parser
