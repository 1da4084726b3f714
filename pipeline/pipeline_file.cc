// Pipeline file parsing: one function per section over the YAML readers of yaml_reader.h, all
// reporting "FILE:LINE: what". Cross-references (a step's service set, the deploy network,
// app.port) are checked once the whole file is read, because YAML maps may list sections in any
// order. No yaml-cpp exception leaves parse_pipeline_file.
#include "pipeline/pipeline_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <map>
#include <optional>
#include <vector>

#include "engine/image_source.h"
#include "base/fs.h"
#include "netns/cidr.h"
#include "netns/network.h"
#include "oci/reference.h"
#include "pipeline/cache_key.h"
#include "pipeline/variables.h"
#include "pipeline/yaml_reader.h"

namespace slipway::pipeline {
namespace {

constexpr size_t kMaxNameLength = 63;

// A path with a ".." element: what a repository writes must not climb out of where it is used.
bool has_dot_dot(const std::filesystem::path& p) { return std::find(p.begin(), p.end(), "..") != p.end(); }

// Names become container, DNS and image names: lowercase DNS-label-ish. App names may also hold
// '_' and '.', which image repositories allow.
bool is_name(std::string_view name, bool app) {
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

  Result<PipelineSpec> parse(std::string_view text) {
    YAML::Node document = SLW_TRY(single_document(text));
    if (document.IsNull()) return error(1, "the pipeline file is empty");
    Value root{document, "", line_of(document, 1)};
    if (!root.node.IsMap())
      return error(root.line, "want a map of app, services, steps, push, environments, pull, got {}",
                   describe(root.node));

    PipelineSpec spec;
    spec.file = file();
    bool has_environments = false;
    for (const Entry& e :
         SLW_TRY(entries(root, {"app", "services", "steps", "push", "environments", "pull"}))) {
      // Keys are unique (entries() checks), so at most one of these matches.
      if (e.key == "app") SLW_TRY(app(e, spec.app));
      if (e.key == "services") SLW_TRY(service_sets(e, spec));
      if (e.key == "steps") SLW_TRY(steps(e, spec));
      if (e.key == "push") SLW_TRY(push(e, spec.push));
      if (e.key == "environments") SLW_TRY(environments(e, spec));
      if (e.key == "pull") spec.pull = SLW_TRY(pull_policy(e.value));
      has_environments |= e.key == "environments";
    }
    if (!has_environments) {
      spec.environments["testing"] = {.name = "testing", .push = false, .service = ""};
      spec.environments["staging"] = {.name = "staging", .push = true, .service = ""};
    }
    SLW_TRY(complete_steps(spec, root.line));
    SLW_TRY(check_references(spec));
    return spec;
  }

 private:
  // ---- readers for the pipeline's own shapes ----

  // A YAML list is the argv as is; a YAML string is a shell command line.
  Result<CommandLine> command(const Value& v) const {
    if (v.node.IsScalar()) return CommandLine{"/bin/sh", "-c", SLW_TRY(nonempty_string(v))};
    if (!v.node.IsSequence()) return want(v, "a string or a list of strings");
    CommandLine argv = SLW_TRY(string_list(v));
    if (argv.empty()) return error(v.line, "{} must not be empty", v.path);
    return argv;
  }

  Status check_name(std::string_view name, bool app, int line, std::string_view path) const {
    if (is_name(name, app)) return {};
    return error(line, "{}: invalid name {}: want {} of at most {} characters", path, shown(name),
                 app ? "[a-z0-9][a-z0-9_.-]*" : "[a-z0-9][a-z0-9-]*", kMaxNameLength);
  }

  Result<std::string> name(const Value& v, bool app) const {
    std::string s = SLW_TRY(string(v));
    SLW_TRY(check_name(s, app, v.line, v.path));
    return s;
  }

  // Docker's pull policies: missing, always, never.
  Result<std::string> pull_policy(const Value& v) const {
    std::string p = SLW_TRY(nonempty_string(v));
    if (!engine::parse_pull_policy(p)) return want(v, "missing, always or never");
    return p;
  }

  Result<std::string> image(const Value& v) const {
    std::string s = SLW_TRY(nonempty_string(v));
    SLW_TRY(at(v, oci::parse_reference(s)));
    return s;
  }

  // A path inside the repository: relative, with no ".." (it is resolved inside the checkout too).
  Result<std::string> repo_path(const Value& v) const {
    std::string s = SLW_TRY(nonempty_string(v));
    std::filesystem::path p(s);
    if (p.is_absolute() || has_dot_dot(p))
      return want(v, "a path inside the repository (relative, without \"..\")");
    return s;
  }

  Result<std::string> tag(const Value& v) const {
    std::string s = SLW_TRY(string(v));
    if (!oci::is_valid_tag(s)) return want(v, "a tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128)");
    return s;
  }

  Result<ReadinessProbe> ready(const Value& v) const {
    ReadinessProbe probe;
    // It goes into an HTTP request line as is.
    auto bad_path = [](std::string_view p) {
      return !p.starts_with('/') || std::any_of(p.begin(), p.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ';
      });
    };
    for (const Entry& e : SLW_TRY(entries(v, {"port", "http", "timeout", "interval"}))) {
      if (e.key == "port") probe.port = SLW_TRY(port(e.value));
      if (e.key == "http") probe.http_path = SLW_TRY(string(e.value));
      if (e.key == "http" && bad_path(probe.http_path))
        return want(e.value, "a path starting with '/' and without spaces");
      if (e.key == "timeout") probe.timeout_seconds = SLW_TRY(seconds(e.value));
      if (e.key == "interval") probe.interval_seconds = SLW_TRY(seconds(e.value));
    }
    return probe;
  }

  Result<HealthSpec> healthcheck(const Value& v) const {
    HealthSpec h;
    bool has_test = false;
    for (const Entry& e : SLW_TRY(entries(v, {"test", "interval", "timeout", "retries", "start_period", "wait"}))) {
      if (e.key == "test") h.test = SLW_TRY(nonempty_string(e.value));
      if (e.key == "test") has_test = true;
      if (e.key == "interval") h.interval_seconds = SLW_TRY(seconds(e.value));
      if (e.key == "timeout") h.timeout_seconds = SLW_TRY(seconds(e.value));
      if (e.key == "start_period") h.start_period_seconds = SLW_TRY(seconds(e.value));
      if (e.key == "wait") h.wait_seconds = SLW_TRY(seconds(e.value));
      if (e.key == "retries") h.retries = SLW_TRY(positive_integer(e.value));
    }
    if (!has_test) return error(v.line, "{}.test is required", v.path);
    return h;
  }

  // A probe without its own port uses the port of what it probes.
  Status default_probe_port(ReadinessProbe& probe, int port, int line,
                            std::string_view path) const {
    if (probe.port == 0) probe.port = port;
    if (probe.port == 0)
      return error(line, "{}.port is required when {} has no port", path,
                   path.substr(0, path.rfind('.')));
    return {};
  }

  // ---- sections ----

  Status app(const Entry& section, AppSpec& app) const {
    std::optional<int> ready_line;
    for (const Entry& e :
         SLW_TRY(entries(section.value, {"name", "dockerfile", "context", "target", "build_args",
                                         "command", "env", "port", "ready"}))) {
      if (e.key == "name") app.name = SLW_TRY(name(e.value, true));
      if (e.key == "dockerfile") app.dockerfile = SLW_TRY(repo_path(e.value));
      if (e.key == "context") app.context = SLW_TRY(repo_path(e.value));
      if (e.key == "target") app.target = SLW_TRY(nonempty_string(e.value));
      if (e.key == "build_args") app.build_args = SLW_TRY(string_map(e.value));
      if (e.key == "command") app.command = SLW_TRY(command(e.value));
      if (e.key == "env") app.env = SLW_TRY(string_map(e.value));
      if (e.key == "port") app.port = SLW_TRY(port(e.value));
      if (e.key == "ready") app.ready = SLW_TRY(ready(e.value));
      if (e.key == "ready") ready_line = e.key_line;
    }
    if (app.name.empty()) return error(section.key_line, "app.name is required");
    if (ready_line) return default_probe_port(app.ready, app.port, *ready_line, "app.ready");
    app.ready.port = app.port;  // no probe when the app has no port
    return {};
  }

  Status service_sets(const Entry& section, PipelineSpec& spec) const {
    std::map<std::string, int> service_lines;  // names are unique across sets: they name containers
    for (const Entry& e : SLW_TRY(entries(section.value, {}))) {
      ServiceSetSpec set;
      set.name = e.key;
      set.line = e.key_line;
      SLW_TRY(check_name(e.key, false, e.key_line, e.value.path));
      std::optional<Value> bridge_only;  // subnet or domain: meaningless on the host network
      for (const Entry& f :
           SLW_TRY(entries(e.value, {"network", "subnet", "domain", "services"}))) {
        if (f.key == "network") set.network = SLW_TRY(nonempty_string(f.value));
        if (f.key == "network" && set.network != "host")
          SLW_TRY(at(f.value, netns::validate_network_name(set.network)));
        if (f.key == "subnet") set.subnet = SLW_TRY(string(f.value));
        if (f.key == "subnet") SLW_TRY(at(f.value, netns::parse_cidr(set.subnet)));
        if (f.key == "domain") set.domain = SLW_TRY(string(f.value));
        if (f.key == "domain") SLW_TRY(at(f.value, netns::validate_domain(set.domain)));
        if (f.key == "subnet" || f.key == "domain") bridge_only = f.value;
        if (f.key == "services") {
          for (const Value& item : SLW_TRY(items(f.value))) {
            ServiceSpec service = SLW_TRY(service_spec(item));
            auto [it, added] = service_lines.emplace(service.name, service.line);
            if (!added)
              return error(service.line, "{}: duplicate service name {} (first at line {})",
                           item.path, shown(service.name), it->second);
            set.services.push_back(std::move(service));
          }
        }
      }
      if (bridge_only && set.network == "host")
        return error(bridge_only->line, "{}: only a bridge network has one, and {} uses host",
                     bridge_only->path, e.value.path);
      spec.service_sets.emplace(set.name, std::move(set));
    }
    return {};
  }

  Result<ServiceSpec> service_spec(const Value& v) const {
    if (!v.node.IsMap()) return want(v, "a map");
    ServiceSpec service;
    service.line = v.line;
    std::optional<int> ready_line;
    for (const Entry& e :
         SLW_TRY(entries(v, {"name", "image", "command", "env", "port", "ready", "healthcheck", "snapshots"}))) {
      if (e.key == "name") service.name = SLW_TRY(name(e.value, false));
      if (e.key == "image") service.image = SLW_TRY(image(e.value));
      if (e.key == "command") service.command = SLW_TRY(command(e.value));
      if (e.key == "env") service.env = SLW_TRY(string_map(e.value));
      if (e.key == "port") service.port = SLW_TRY(port(e.value));
      if (e.key == "snapshots") service.snapshots = SLW_TRY(snapshots(e.value));
      if (e.key == "ready") service.ready = SLW_TRY(ready(e.value));
      if (e.key == "ready") ready_line = e.key_line;
      if (e.key == "healthcheck") service.healthcheck = SLW_TRY(healthcheck(e.value));
    }
    if (service.name.empty()) return error(v.line, "{}.name is required", v.path);
    if (service.image.empty()) return error(v.line, "{}.image is required", v.path);
    if (!ready_line && service.port != 0) service.ready.emplace();
    if (service.ready)
      SLW_TRY(default_probe_port(*service.ready, service.port, ready_line.value_or(v.line),
                                 v.path + ".ready"));
    return service;
  }

  Result<std::vector<Snapshot>> snapshots(const Value& v) const {
    std::vector<Snapshot> out;
    for (const Value& item : SLW_TRY(items(v))) {
      if (!item.node.IsMap()) return want(item, "a map of source and target");
      Snapshot snapshot;
      for (const Entry& e : SLW_TRY(entries(item, {"source", "target"}))) {
        if (e.key == "source") snapshot.source = SLW_TRY(nonempty_string(e.value));
        if (e.key == "target") snapshot.target = SLW_TRY(nonempty_string(e.value));
        if (e.key == "target" && !snapshot.target.starts_with('/'))
          return want(e.value, "an absolute path");
      }
      if (snapshot.source.empty()) return error(item.line, "{}.source is required", item.path);
      if (snapshot.target.empty()) return error(item.line, "{}.target is required", item.path);
      out.push_back(std::move(snapshot));
    }
    return out;
  }

  // ---- steps ----

  // `steps:` as a map (the seed's form: unit, integration, deploy, live, run in that order) or as
  // a list of named steps of any type.
  Status steps(const Entry& section, PipelineSpec& spec) {
    steps_line_ = section.key_line;
    if (section.value.node.IsSequence()) {
      steps_listed_ = true;
      for (const Value& item : SLW_TRY(items(section.value))) spec.steps.push_back(SLW_TRY(listed_step(item)));
      return {};
    }
    static constexpr std::pair<std::string_view, StepType> kSeedSteps[] = {
        {"unit", StepType::kUnit},
        {"integration", StepType::kIntegration},
        {"deploy", StepType::kDeploy},
        {"live", StepType::kLive}};
    std::vector<Entry> written = SLW_TRY(entries(section.value, {"unit", "integration", "deploy", "live"}));
    for (auto [name, type] : kSeedSteps) {
      auto e = std::find_if(written.begin(), written.end(), [&](const Entry& w) { return w.key == name; });
      if (e == written.end()) continue;
      StepSpec step = implicit_step(std::string(name), type, e->key_line);
      SLW_TRY(seed_step(*e, step));
      spec.steps.push_back(std::move(step));
    }
    return {};
  }

  // A step of the map form: the keys of its type, with `env` and `command`.
  Status seed_step(const Entry& step_entry, StepSpec& step) {
    using enum StepType;
    std::vector<Entry> fields;
    switch (step.type) {
      case kUnit: fields = SLW_TRY(entries(step_entry.value, {"image", "command", "env", "timeout", "services"})); break;
      case kIntegration:
        fields = SLW_TRY(entries(step_entry.value, {"image", "command", "env", "timeout", "services", "forward", "app_env"}));
        break;
      case kDeploy: fields = SLW_TRY(entries(step_entry.value, {"services", "env"})); break;
      default: fields = SLW_TRY(entries(step_entry.value, {"image", "command", "env", "timeout"})); break;
    }
    for (const Entry& e : fields) {
      if (e.key == "env") step.env = SLW_TRY(variable_map(e.value));
      if (e.key == "command") step.command = SLW_TRY(command(e.value));
      SLW_TRY(step_field(e, step));
    }
    if (step.type != kDeploy && step.command.empty())
      return error(step_entry.key_line, "{}.command is required", step_entry.value.path);
    return {};
  }

  // A field most step types share; other keys are left alone.
  Status step_field(const Entry& e, StepSpec& step) {
    if (e.key == "image") step.image = SLW_TRY(step_image(e.value));
    if (e.key == "timeout") step.timeout_seconds = SLW_TRY(seconds(e.value));
    if (e.key == "services") step.services = SLW_TRY(name(e.value, false));
    if (e.key == "services") service_lines_[step.name] = e.value.line;
    if (e.key == "app_env") step.app_env = SLW_TRY(variable_map(e.value));
    if (e.key == "forward")
      for (const Value& item : SLW_TRY(items(e.value))) step.forward.push_back(SLW_TRY(port(item)));
    return {};
  }

  // An image reference, `app`, or a text with ${VARIABLES} checked when the run is planned.
  Result<std::string> step_image(const Value& v) const {
    std::string s = SLW_TRY(nonempty_string(v));
    SLW_TRY(variables_known(v, s));
    if (s == kAppImage || s.find("${") != std::string::npos) return s;
    SLW_TRY(at(v, oci::parse_reference(s)));
    return s;
  }

  // Values of environment maps may use ${VARIABLES}.
  Result<std::map<std::string, std::string>> variable_map(const Value& v) const {
    auto map = SLW_TRY(string_map(v));
    for (const auto& [key, value] : map) {
      if (!is_variable_name(key)) return error(v.line, "{}: invalid variable name {}", v.path, shown(key));
      SLW_TRY(variables_known(v, value));
    }
    return map;
  }

  // Text whose ${NAME}s are only known when a run starts: its syntax and names are checked now,
  // against the CI variables every run defines (CI_COMMIT_TAG and CI_COMMIT_BRANCH included).
  Status variables_known(const Value& v, std::string_view text) const {
    if (text.find('$') == std::string_view::npos) return {};
    static const std::map<std::string, std::string> kEveryName = [] {
      RunFacts facts;
      facts.commit.branch = facts.commit.tag = "x";
      return with_job(ci_variables(facts), "x");
    }();
    return at(v, interpolate(text, kEveryName));
  }

  static bool is_variable_name(std::string_view name) {
    auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    return !name.empty() && start(name[0]) && std::all_of(name.begin(), name.end(), [&](char c) {
      return start(c) || (c >= '0' && c <= '9');
    });
  }

  // A string or a list of strings, as a list.
  Result<std::vector<std::string>> one_or_more(const Value& v) const {
    if (v.node.IsScalar()) return std::vector<std::string>{SLW_TRY(nonempty_string(v))};
    return string_list(v);
  }

  Result<StepType> step_type(const Value& v) const {
    static constexpr std::pair<std::string_view, StepType> kTypes[] = {
        {"commands", StepType::kCommands}, {"build", StepType::kBuild},   {"unit", StepType::kUnit},
        {"integration", StepType::kIntegration}, {"deploy", StepType::kDeploy}, {"live", StepType::kLive},
        {"push", StepType::kPush}};
    std::string s = SLW_TRY(nonempty_string(v));
    for (auto [name, type] : kTypes)
      if (s == name) return type;
    return want(v, "commands, build, unit, integration, deploy, live or push");
  }

  Result<WhenSpec> when(const Value& v) {
    WhenSpec w;
    for (const Entry& e : SLW_TRY(entries(v, {"branch", "environment", "event", "status"}))) {
      if (e.key == "branch") w.branches = SLW_TRY(one_or_more(e.value));
      if (e.key == "environment") w.environments = SLW_TRY(one_or_more(e.value));
      if (e.key == "environment") environment_refs_.emplace_back(e.value.line, e.value.path, w.environments);
      if (e.key == "event") {
        w.events = SLW_TRY(one_or_more(e.value));
        for (const auto& event : w.events)
          if (event != "push" && event != "manual" && event != "watch")
            return error(e.value.line, "{}: unknown event {}: want push, manual or watch", e.value.path,
                         shown(event));
      }
      if (e.key == "status") {
        bool success = false, failure = false;
        for (const auto& status : SLW_TRY(one_or_more(e.value))) {
          if (status != "success" && status != "failure" && status != "always")
            return want(e.value, "success, failure or always");
          success |= status != "failure";
          failure |= status != "success";
        }
        w.status = success && failure ? WhenStatus::kAlways
                   : failure          ? WhenStatus::kFailure
                                      : WhenStatus::kSuccess;
      }
    }
    return w;
  }

  // One item of the list form. Its messages name it as steps.NAME once its name is known.
  Result<StepSpec> listed_step(Value item) {
    if (!item.node.IsMap()) return want(item, "a map with name and type or commands");
    Keys keys = {"name",    "type",    "image",   "commands", "command",   "environment", "services",
                 "depends_on", "when", "timeout", "retry",  "network",  "workdir",  "forward",
                 "app_env", "secrets", "artifacts", "reports", "cache"};
    StepSpec step;
    step.line = item.line;
    std::optional<StepType> type;
    for (const Entry& e : SLW_TRY(entries(item, keys))) {
      if (e.key == "name") step.name = SLW_TRY(name(e.value, false));
      if (e.key == "type") type = SLW_TRY(step_type(e.value));
    }
    if (step.name.empty()) return error(item.line, "{}.name is required", item.path);
    if (step.name == "checkout")
      return error(item.line, "{}: \"checkout\" names the step every run starts with; choose another name",
                   item.path);
    if (!step_lines_.emplace(step.name, step.line).second)
      return error(item.line, "{}: duplicate step name {} (first at line {})", item.path, shown(step.name),
                   step_lines_[step.name]);
    step.type = type.value_or(StepType::kCommands);
    item.path = "steps." + step.name;

    using enum StepType;
    std::vector<std::string_view> allowed = {"name", "type", "depends_on", "when", "retry"};
    auto allow = [&](std::initializer_list<std::string_view> more) { allowed.insert(allowed.end(), more); };
    // Every step that runs a container of its own may use secrets, artifacts, reports and caches.
    if (step.type == kCommands || step.type == kUnit || step.type == kIntegration || step.type == kLive)
      allow({"image", "commands", "environment", "timeout", "secrets", "artifacts", "reports", "cache"});
    if (step.type == kCommands) allow({"services", "network", "workdir"});
    if (step.type == kUnit) allow({"command", "services"});
    if (step.type == kIntegration) allow({"command", "services", "forward", "app_env"});
    if (step.type == kDeploy) allow({"services", "environment"});
    if (step.type == kLive) allow({"command"});

    for (const Entry& e : SLW_TRY(entries(item, keys))) {
      if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
        return error(e.key_line, "{}: a step of type {} has no {}", item.path, to_string(step.type), e.key);
      if (e.key == "commands") {
        step.commands = SLW_TRY(one_or_more(e.value));
        for (const auto& c : step.commands) SLW_TRY(variables_known(e.value, c));
        if (step.commands.empty()) return error(e.value.line, "{} must not be empty", e.value.path);
      }
      if (e.key == "command") step.command = SLW_TRY(command(e.value));
      if (e.key == "environment") step.env = SLW_TRY(variable_map(e.value));
      if (e.key == "depends_on") step.depends_on = SLW_TRY(one_or_more(e.value));
      if (e.key == "depends_on") step.depends_on_written = true;
      if (e.key == "when") step.when = SLW_TRY(when(e.value));
      if (e.key == "retry") step.retry = SLW_TRY(count(e.value));
      if (e.key == "network") step.network = SLW_TRY(step_network(e.value));
      if (e.key == "workdir") step.workdir = SLW_TRY(nonempty_string(e.value));
      if (e.key == "workdir" && !step.workdir.starts_with('/')) return want(e.value, "an absolute path");
      if (e.key == "secrets") step.secrets = SLW_TRY(secret_uses(e.value));
      if (e.key == "artifacts") step.artifacts = SLW_TRY(workspace_globs(e.value));
      if (e.key == "reports")
        for (const Entry& r : SLW_TRY(entries(e.value, {"junit"}))) step.junit_reports = SLW_TRY(workspace_globs(r.value));
      if (e.key == "cache") step.caches = SLW_TRY(caches(e.value));
      SLW_TRY(step_field(e, step));
    }
    bool tests = step.type == kUnit || step.type == kIntegration || step.type == kLive;
    if (step.type == kCommands && step.image.empty()) return error(item.line, "{}.image is required", item.path);
    if (step.type == kCommands && step.commands.empty())
      return error(item.line, "{}.commands is required", item.path);
    if (tests && step.command.empty() == step.commands.empty())
      return error(item.line, "{} needs commands or command (one of them)", item.path);
    if (!step.network.empty() && service_lines_.contains(step.name))
      return error(item.line, "{}: network and services both choose its network; keep one", item.path);
    return step;
  }

  // `[NAME, {name: NAME, as: file}]`: environment variables by default.
  Result<std::vector<SecretUse>> secret_uses(const Value& v) const {
    std::vector<SecretUse> out;
    for (const Value& item : SLW_TRY(items(v))) {
      SecretUse use;
      if (item.node.IsMap()) {
        for (const Entry& e : SLW_TRY(entries(item, {"name", "as"}))) {
          if (e.key == "name") use.name = SLW_TRY(nonempty_string(e.value));
          if (e.key == "as") {
            std::string as = SLW_TRY(nonempty_string(e.value));
            if (as != "env" && as != "file") return want(e.value, "env or file");
            use.as_file = as == "file";
          }
        }
        if (use.name.empty()) return error(item.line, "{}.name is required", item.path);
      } else {
        use.name = SLW_TRY(nonempty_string(item));
      }
      if (!is_variable_name(use.name))
        return error(item.line, "{}: invalid secret name {}: want [A-Za-z_][A-Za-z0-9_]*", item.path, shown(use.name));
      out.push_back(std::move(use));
    }
    return out;
  }

  // Patterns of paths in the workspace: relative, without "..".
  Result<std::vector<std::string>> workspace_globs(const Value& v) const {
    std::vector<std::string> out = SLW_TRY(one_or_more(v));
    for (const auto& pattern : out) {
      std::filesystem::path p(pattern);
      if (pattern.empty() || p.is_absolute() || has_dot_dot(p))
        return error(v.line, "{}: {}: want a pattern relative to the workspace, without \"..\"", v.path,
                     shown(pattern));
    }
    return out;
  }

  Result<std::vector<CacheSpec>> caches(const Value& v) const {
    std::vector<CacheSpec> out;
    for (const Value& item : SLW_TRY(items(v))) {
      if (!item.node.IsMap()) return want(item, "a map of key and paths");
      CacheSpec cache;
      for (const Entry& e : SLW_TRY(entries(item, {"key", "paths"}))) {
        if (e.key == "key") cache.key = SLW_TRY(nonempty_string(e.value));
        if (e.key == "key") SLW_TRY(at(e.value, check_cache_key(cache.key)));
        if (e.key == "paths") cache.paths = SLW_TRY(one_or_more(e.value));
        for (const auto& path : cache.paths) {
          std::filesystem::path p(path);
          if (has_dot_dot(p) || p.lexically_normal() == "/")
            return error(e.value.line, "{}: {}: want a directory (absolute, or relative to /workspace), without \"..\"",
                         e.value.path, shown(path));
        }
      }
      if (cache.key.empty()) return error(item.line, "{}.key is required", item.path);
      if (cache.paths.empty()) return error(item.line, "{}.paths is required", item.path);
      out.push_back(std::move(cache));
    }
    return out;
  }

  Result<int> count(const Value& v) const {
    if (v.node.IsScalar() && v.node.Scalar() == "0") return 0;
    return positive_integer(v);
  }

  Result<std::string> step_network(const Value& v) const {
    std::string s = SLW_TRY(nonempty_string(v));
    if (s != "none" && s != "host" && s != "default") SLW_TRY(at(v, netns::validate_network_name(s)));
    return s;
  }

  Status push(const Entry& section, PushSpec& push) {
    push.enabled = true;
    push.line = section.key_line;
    repository_line_ = section.key_line;
    for (const Entry& e : SLW_TRY(
             entries(section.value, {"registry", "repository", "tags", "target", "plain_http"}))) {
      if (e.key == "registry") push.registry = SLW_TRY(nonempty_string(e.value));
      if (e.key == "registry" && push.registry.find_first_of("/@ ") != std::string::npos)
        return want(e.value, "host[:port] without scheme or path");
      if (e.key == "repository") push.repository = SLW_TRY(nonempty_string(e.value));
      if (e.key == "repository") repository_line_ = e.value.line;
      if (e.key == "repository" && push.repository.find_first_of(":@") != std::string::npos)
        return want(e.value, "a repository path without tag or digest");
      if (e.key == "tags")
        for (const Value& item : SLW_TRY(items(e.value))) push.tags.push_back(SLW_TRY(tag(item)));
      if (e.key == "target") push.target = SLW_TRY(nonempty_string(e.value));
      if (e.key == "plain_http") push.plain_http = SLW_TRY(boolean(e.value));
    }
    if (push.registry.empty()) return error(push.line, "push.registry is required");
    return {};
  }

  Status environments(const Entry& section, PipelineSpec& spec) const {
    for (const Entry& e : SLW_TRY(entries(section.value, {}))) {
      SLW_TRY(check_name(e.key, false, e.key_line, e.value.path));
      EnvironmentSpec env{.name = e.key, .push = false, .service = ""};
      for (const Entry& f : SLW_TRY(entries(e.value, {"push", "service"}))) {
        if (f.key == "push") env.push = SLW_TRY(boolean(f.value));
        if (f.key == "service") env.service = SLW_TRY(name(f.value, false));
      }
      spec.environments.emplace(e.key, std::move(env));
    }
    if (spec.environments.empty())
      return error(section.key_line, "environments must name at least one environment");
    return {};
  }

  // ---- checks across sections ----

  Status check_references(PipelineSpec& spec) const {
    std::vector<std::string> defined;
    for (const auto& [set_name, set] : spec.service_sets) defined.push_back(set_name);
    using enum StepType;
    const StepSpec* deploy = nullptr;
    for (const StepSpec& step : spec.steps)
      if (step.type == kDeploy) deploy = &step;
    for (StepSpec& step : spec.steps) {
      auto written = service_lines_.find(step.name);
      int line = written == service_lines_.end() ? step.line : written->second;
      bool needs_bridge = step.type == kDeploy;
      if (step.type == kLive) {
        if (!deploy) return error(step.line, "steps.{} tests the deployed app and needs a deploy step", step.name);
        step.services = deploy->services;
        continue;
      }
      if (written == service_lines_.end()) {
        if (step.type == kUnit || step.type == kIntegration) step.services = "dev";
        if (step.type == kDeploy) step.services = "prodlike";
      }
      if (step.services.empty()) continue;
      auto it = spec.service_sets.find(step.services);
      if (it == spec.service_sets.end()) {
        // Tests that need no services need no `services.dev` either.
        if (written == service_lines_.end() && !needs_bridge) {
          step.services.clear();
          continue;
        }
        return error(line, "steps.{}.services: no service set named {} ({}defined: {})", step.name,
                     shown(step.services), written == service_lines_.end() ? "the default; " : "",
                     joined(defined));
      }
      if (needs_bridge && it->second.network == "host")
        return error(line,
                     "steps.{}.services: service set {} uses the host network; {} needs a set "
                     "with a network of its own",
                     step.name, shown(step.services), step.name);
    }
    for (const StepSpec& step : spec.steps)
      if ((step.type == kIntegration || step.type == kDeploy) && spec.app.port == 0)
        return error(step.line, "steps.{} needs app.port (the port the app listens on)", step.name);
    for (const auto& [line, path, names] : environment_refs_)
      for (const auto& env : names)
        if (!spec.environments.contains(env))
          return error(line, "{}: no environment named {}", path, shown(env));

    if (spec.push.enabled) {
      if (spec.push.repository.empty()) spec.push.repository = spec.app.name;
      if (auto ref = oci::parse_reference(spec.push.registry + "/" + spec.push.repository); !ref)
        return error(repository_line_, "push: {}", ref.error().message());
    }
    return {};
  }

  // Adds the implicit steps (the app's build; in the map form also push) and each step's
  // dependencies, then checks them: names that exist, no cycle.
  Status complete_steps(PipelineSpec& spec, int root_line) {
    using enum StepType;
    auto& steps = spec.steps;
    bool has_app = !spec.app.name.empty();
    if (!steps_listed_) {
      if (!has_app) return error(root_line, "app is required");
      if (spec.push.enabled) steps.push_back(implicit_step("push", kPush, spec.push.line));
    } else {
      bool pushes = std::any_of(steps.begin(), steps.end(), [](const StepSpec& s) { return s.type == kPush; });
      if (spec.push.enabled && !pushes)
        return error(spec.push.line, "push: no step has type push; add one to steps");
    }
    for (const StepSpec& step : steps) {
      if (step.type == kPush && !spec.push.enabled)
        return error(step.line, "steps.{}: a push step needs the push section (registry, tags)", step.name);
      if (uses_app(step) && !has_app)
        return error(step.line, "steps.{} uses the app image, and the file has no app section", step.name);
    }
    auto build = std::find_if(steps.begin(), steps.end(), [](const StepSpec& s) { return s.type == kBuild; });
    if (build != steps.end() && std::find_if(build + 1, steps.end(), [](const StepSpec& s) {
                                  return s.type == kBuild;
                                }) != steps.end())
      return error(steps_line_, "steps: more than one step has type build; the app is built once");
    std::string build_name = build == steps.end() ? "build" : build->name;
    if (build == steps.end() && has_app) {
      if (spec.step("build"))
        return error(spec.step("build")->line,
                     "steps.build: \"build\" names the app's build step; rename this one or give it type build");
      steps.insert(steps.begin(), implicit_step("build", kBuild, steps_line_));
    }

    bool any_dependencies =
        std::any_of(steps.begin(), steps.end(), [](const StepSpec& s) { return s.depends_on_written; });
    if (!any_dependencies) {
      // Written in order, run in order: each main step follows the one before it.
      const StepSpec* previous = nullptr;
      for (StepSpec& step : steps) {
        if (step.when.status != WhenStatus::kSuccess) continue;
        if (previous) step.depends_on = {previous->name};
        previous = &step;
      }
    } else {
      for (StepSpec& step : steps)
        if (uses_app(step) && step.type != kBuild &&
            std::find(step.depends_on.begin(), step.depends_on.end(), build_name) == step.depends_on.end())
          step.depends_on.push_back(build_name);
    }
    std::vector<GraphStep> graph;
    for (const StepSpec& step : steps) {
      for (const auto& d : step.depends_on) {
        if (!spec.step(d)) return error(step.line, "steps.{}.depends_on: no step named {}", step.name, shown(d));
        if (d == step.name) return error(step.line, "steps.{}.depends_on: a step cannot depend on itself", step.name);
      }
      graph.push_back({.name = step.name, .depends_on = step.depends_on, .when_status = step.when.status});
    }
    if (auto g = StepGraph::build(std::move(graph)); !g) return error(steps_line_, "{}", g.error().message());
    return {};
  }

  static StepSpec implicit_step(std::string name, StepType type, int line) {
    StepSpec step;
    step.name = std::move(name);
    step.type = type;
    step.line = line;
    return step;
  }

  static bool uses_app(const StepSpec& s) {
    return s.type == StepType::kCommands ? s.image == kAppImage : true;
  }

  std::map<std::string, int> step_lines_;
  std::map<std::string, int> service_lines_;  // steps whose services: were written, and where
  std::vector<std::tuple<int, std::string, std::vector<std::string>>> environment_refs_;
  bool steps_listed_ = false;
  int steps_line_ = 1;
  int repository_line_ = 1;
};

}  // namespace

Result<PipelineSpec> parse_pipeline_file(std::string_view text, const std::string& file_name) {
  // yaml-cpp reports syntax errors, and a few others, by exception; none may leave this module.
  try {
    return Parser(file_name).parse(text);
  } catch (const YAML::Exception& e) {
    // Its message may quote the offending (binary) byte.
    std::string message = YamlReader::printable(e.msg, true);
    if (e.mark.is_null()) return fail("{}: invalid YAML: {}", file_name, message);
    return fail("{}:{}: invalid YAML: {}", file_name, e.mark.line + 1, message);
  } catch (const std::exception& e) {
    return fail("{}: cannot parse pipeline file: {}", file_name,
                YamlReader::printable(e.what(), true));
  }
}

Result<PipelineSpec> load_pipeline_file(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT)
      return std::unexpected(Error(ENOENT, fmt::format("pipeline file {} not found", path)));
    return std::unexpected(
        std::move(text).error().context(fmt::format("read pipeline file {}", path)));
  }
  return parse_pipeline_file(*text, path);
}

Result<const EnvironmentSpec*> find_environment(const PipelineSpec& spec, const std::string& name) {
  auto it = spec.environments.find(name);
  if (it != spec.environments.end()) return &it->second;
  std::vector<std::string> known;
  for (const auto& [env_name, env] : spec.environments) known.push_back(env_name);
  return fail("{}: no environment named {} (known: {})", spec.file, YamlReader::shown(name),
              YamlReader::joined(known));
}

}  // namespace slipway::pipeline
