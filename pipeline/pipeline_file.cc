// Pipeline file parsing: the whole file, its app, services, push and environments sections and
// the checks across sections (the steps section is pipeline_file_steps.cc), all reporting
// "FILE:LINE: what". No yaml-cpp exception leaves parse_pipeline_file.
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
#include "pipeline/pipeline_file_parser.h"
#include "pipeline/variables.h"
#include "pipeline/yaml_reader.h"

namespace slipway::pipeline {
namespace file_parser {

Result<PipelineSpec> Parser::parse(std::string_view text) {
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

Result<CommandLine> Parser::command(const Value& v) const {
  if (v.node.IsScalar()) return CommandLine{"/bin/sh", "-c", SLW_TRY(nonempty_string(v))};
  if (!v.node.IsSequence()) return want(v, "a string or a list of strings");
  CommandLine argv = SLW_TRY(string_list(v));
  if (argv.empty()) return error(v.line, "{} must not be empty", v.path);
  return argv;
}

Status Parser::check_name(std::string_view name, bool app, int line, std::string_view path) const {
  if (is_name(name, app)) return {};
  return error(line, "{}: invalid name {}: want {} of at most {} characters", path, shown(name),
               app ? "[a-z0-9][a-z0-9_.-]*" : "[a-z0-9][a-z0-9-]*", kMaxNameLength);
}

Result<std::string> Parser::name(const Value& v, bool app) const {
  std::string s = SLW_TRY(string(v));
  SLW_TRY(check_name(s, app, v.line, v.path));
  return s;
}

Result<std::string> Parser::pull_policy(const Value& v) const {
  std::string p = SLW_TRY(nonempty_string(v));
  if (!engine::parse_pull_policy(p)) return want(v, "missing, always or never");
  return p;
}

Result<std::string> Parser::image(const Value& v) const {
  std::string s = SLW_TRY(nonempty_string(v));
  SLW_TRY(at(v, oci::parse_reference(s)));
  return s;
}

Result<std::string> Parser::repo_path(const Value& v) const {
  std::string s = SLW_TRY(nonempty_string(v));
  std::filesystem::path p(s);
  if (p.is_absolute() || has_dot_dot(p))
    return want(v, "a path inside the repository (relative, without \"..\")");
  return s;
}

Result<std::string> Parser::tag(const Value& v) const {
  std::string s = SLW_TRY(string(v));
  if (!oci::is_valid_tag(s)) return want(v, "a tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128)");
  return s;
}

Result<ReadinessProbe> Parser::ready(const Value& v) const {
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

Result<HealthSpec> Parser::healthcheck(const Value& v) const {
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

Status Parser::default_probe_port(ReadinessProbe& probe, int port, int line,
                                  std::string_view path) const {
  if (probe.port == 0) probe.port = port;
  if (probe.port == 0)
    return error(line, "{}.port is required when {} has no port", path,
                 path.substr(0, path.rfind('.')));
  return {};
}

Status Parser::app(const Entry& section, AppSpec& app) const {
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

Status Parser::service_sets(const Entry& section, PipelineSpec& spec) const {
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

Result<ServiceSpec> Parser::service_spec(const Value& v) const {
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

Result<std::vector<Snapshot>> Parser::snapshots(const Value& v) const {
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

Status Parser::push(const Entry& section, PushSpec& push) {
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

Status Parser::environments(const Entry& section, PipelineSpec& spec) const {
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

Status Parser::check_references(PipelineSpec& spec) const {
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

Status Parser::complete_steps(PipelineSpec& spec, int root_line) {
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

StepSpec Parser::implicit_step(std::string name, StepType type, int line) {
  StepSpec step;
  step.name = std::move(name);
  step.type = type;
  step.line = line;
  return step;
}

bool Parser::uses_app(const StepSpec& s) {
  return s.type == StepType::kCommands ? s.image == kAppImage : true;
}

}  // namespace file_parser

Result<PipelineSpec> parse_pipeline_file(std::string_view text, const std::string& file_name) {
  // yaml-cpp reports syntax errors, and a few others, by exception; none may leave this module.
  try {
    return file_parser::Parser(file_name).parse(text);
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
