// The steps section of a pipeline file: the seed's map of unit, integration, deploy and live, or
// a list of named steps of any type, with their images, variables, conditions, secrets and caches.
#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "engine/image_source.h"
#include "netns/network.h"
#include "oci/reference.h"
#include "pipeline/cache_key.h"
#include "pipeline/pipeline_file_parser.h"
#include "pipeline/variables.h"

namespace slipway::pipeline::file_parser {

Status Parser::steps(const Entry& section, PipelineSpec& spec) {
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

Status Parser::seed_step(const Entry& step_entry, StepSpec& step) {
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

Status Parser::step_field(const Entry& e, StepSpec& step) {
  if (e.key == "image") step.image = SLW_TRY(step_image(e.value));
  if (e.key == "timeout") step.timeout_seconds = SLW_TRY(seconds(e.value));
  if (e.key == "services") step.services = SLW_TRY(name(e.value, false));
  if (e.key == "services") service_lines_[step.name] = e.value.line;
  if (e.key == "app_env") step.app_env = SLW_TRY(variable_map(e.value));
  if (e.key == "forward")
    for (const Value& item : SLW_TRY(items(e.value))) step.forward.push_back(SLW_TRY(port(item)));
  return {};
}

Result<std::string> Parser::step_image(const Value& v) const {
  std::string s = SLW_TRY(nonempty_string(v));
  SLW_TRY(variables_known(v, s));
  if (s == kAppImage || s.find("${") != std::string::npos) return s;
  SLW_TRY(at(v, oci::parse_reference(s)));
  return s;
}

Result<std::map<std::string, std::string>> Parser::variable_map(const Value& v) const {
  auto map = SLW_TRY(string_map(v));
  for (const auto& [key, value] : map) {
    if (!is_variable_name(key)) return error(v.line, "{}: invalid variable name {}", v.path, shown(key));
    SLW_TRY(variables_known(v, value));
  }
  return map;
}

Status Parser::variables_known(const Value& v, std::string_view text) const {
  if (text.find('$') == std::string_view::npos) return {};
  static const std::map<std::string, std::string> kEveryName = [] {
    RunFacts facts;
    facts.commit.branch = facts.commit.tag = "x";
    return with_job(ci_variables(facts), "x");
  }();
  return at(v, interpolate(text, kEveryName));
}

bool Parser::is_variable_name(std::string_view name) {
  auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  return !name.empty() && start(name[0]) && std::all_of(name.begin(), name.end(), [&](char c) {
    return start(c) || (c >= '0' && c <= '9');
  });
}

Result<std::vector<std::string>> Parser::one_or_more(const Value& v) const {
  if (v.node.IsScalar()) return std::vector<std::string>{SLW_TRY(nonempty_string(v))};
  return string_list(v);
}

Result<StepType> Parser::step_type(const Value& v) const {
  static constexpr std::pair<std::string_view, StepType> kTypes[] = {
      {"commands", StepType::kCommands}, {"build", StepType::kBuild},   {"unit", StepType::kUnit},
      {"integration", StepType::kIntegration}, {"deploy", StepType::kDeploy}, {"live", StepType::kLive},
      {"push", StepType::kPush}};
  std::string s = SLW_TRY(nonempty_string(v));
  for (auto [name, type] : kTypes)
    if (s == name) return type;
  return want(v, "commands, build, unit, integration, deploy, live or push");
}

Result<WhenSpec> Parser::when(const Value& v) {
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

Result<StepSpec> Parser::listed_step(Value item) {
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

Result<std::vector<SecretUse>> Parser::secret_uses(const Value& v) const {
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

Result<std::vector<std::string>> Parser::workspace_globs(const Value& v) const {
  std::vector<std::string> out = SLW_TRY(one_or_more(v));
  for (const auto& pattern : out) {
    std::filesystem::path p(pattern);
    if (pattern.empty() || p.is_absolute() || has_dot_dot(p))
      return error(v.line, "{}: {}: want a pattern relative to the workspace, without \"..\"", v.path,
                   shown(pattern));
  }
  return out;
}

Result<std::vector<CacheSpec>> Parser::caches(const Value& v) const {
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

Result<int> Parser::count(const Value& v) const {
  if (v.node.IsScalar() && v.node.Scalar() == "0") return 0;
  return positive_integer(v);
}

Result<std::string> Parser::step_network(const Value& v) const {
  std::string s = SLW_TRY(nonempty_string(v));
  if (s != "none" && s != "host" && s != "default") SLW_TRY(at(v, netns::validate_network_name(s)));
  return s;
}

}  // namespace slipway::pipeline::file_parser
