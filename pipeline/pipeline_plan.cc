#include "pipeline/pipeline_plan.h"

#include <fnmatch.h>

#include <algorithm>

#include <fmt/format.h>

#include "oci/reference.h"

namespace slipway::pipeline {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// "" when the step's branch, environment and event conditions hold, else why not.
std::string when_fails(const StepSpec& step, const PlanContext& c) {
  const WhenSpec& w = step.when;
  const std::string& branch = c.facts.commit.branch;
  if (!w.branches.empty() && !std::any_of(w.branches.begin(), w.branches.end(), [&](const std::string& p) {
        return fnmatch(p.c_str(), branch.c_str(), 0) == 0;
      }))
    return branch.empty() ? "the run has no branch" : fmt::format("branch {} does not match its when.branch", branch);
  const std::string& env = c.facts.environment;
  if (!w.environments.empty() && !contains(w.environments, env))
    return fmt::format("environment {} is not in its when.environment", env);
  if (!w.events.empty() && !contains(w.events, c.event))
    return fmt::format("event {} is not in its when.event", c.event);
  // A push step pushes where the environment says so, unless it names its environments itself.
  if (step.type == StepType::kPush && w.environments.empty() && !c.environment_pushes)
    return env + " does not push";
  return "";
}

// "steps.NAME.what: message" at the step's line.
std::unexpected<Error> step_error(const PipelineSpec& spec, const StepSpec& step, std::string_view what,
                                  const Error& e) {
  return fail("{}:{}: steps.{}.{}: {}", spec.file, step.line, step.name, what, e.message());
}

std::string single_quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Result<PlannedStep> plan_step(const PipelineSpec& spec, const StepSpec& step, const PlanContext& c,
                              const std::map<std::string, std::string>& ci) {
  PlannedStep p;
  p.spec = &step;
  std::map<std::string, std::string> vars = with_job(ci, step.name);
  for (const auto& [k, v] : vars) p.env.push_back(k + "=" + v);
  for (const auto& [k, v] : step.env) {
    auto value = interpolate(v, vars);
    if (!value) return step_error(spec, step, "environment." + k, value.error());
    p.env.push_back(k + "=" + *value);
  }
  for (const auto& command : step.commands) {
    auto text = interpolate(command, vars);
    if (!text) return step_error(spec, step, "commands", text.error());
    p.commands.push_back(std::move(*text));
  }
  if (step.image.empty() || step.image == kAppImage) {
    p.image = c.app_image;
  } else {
    auto image = interpolate(step.image, vars);
    if (!image) return step_error(spec, step, "image", image.error());
    if (auto ref = oci::parse_reference(*image); !ref) return step_error(spec, step, "image", ref.error());
    p.image = *image;
  }
  p.workdir = step.workdir;
  if (step.type == StepType::kCommands) {
    if (p.workdir.empty()) p.workdir = kWorkspacePath;
    p.network = step.network;
    if (p.network.empty() && !step.services.empty()) p.network = spec.service_sets.at(step.services).network;
    if (p.network.empty()) p.network = "default";
  }
  std::string why = when_fails(step, c);
  p.enabled = why.empty();
  p.skip_reason = why;
  return p;
}

}  // namespace

std::string command_script(const std::vector<std::string>& commands) {
  std::string script;
  for (const auto& command : commands)
    script += fmt::format("printf '%s\\n' {}\n{}\n", single_quoted("$ " + command), command);
  return script;
}

Result<PipelinePlan> plan_pipeline(const PipelineSpec& spec, const PlanContext& context) {
  std::map<std::string, std::string> ci = ci_variables(context.facts);
  PipelinePlan plan;
  std::vector<GraphStep> graph;
  for (const StepSpec& step : spec.steps) {
    PlannedStep p = SLW_TRY(plan_step(spec, step, context, ci));
    graph.push_back({.name = step.name, .depends_on = step.depends_on, .when_status = step.when.status,
                     .enabled = p.enabled});
    plan.steps.push_back(std::move(p));
  }
  plan.graph = SLW_TRY_CTX(StepGraph::build(std::move(graph)), "{}", spec.file);
  return plan;
}

std::string describe_plan(const PipelinePlan& plan) {
  std::string out;
  for (size_t i : plan.graph.topological_order()) {
    const PlannedStep& p = plan.steps[i];
    const StepSpec& s = *p.spec;
    out += fmt::format("{} ({}){}\n", s.name, to_string(s.type), p.enabled ? "" : ": skipped, " + p.skip_reason);
    std::vector<std::string> after;
    for (size_t d : plan.graph.dependencies(i)) after.push_back(plan.steps[d].spec->name);
    if (!after.empty()) out += fmt::format("  after:    {}\n", fmt::join(after, ", "));
    if (s.when.status != WhenStatus::kSuccess)
      out += fmt::format("  runs:     {}\n", s.when.status == WhenStatus::kFailure ? "when one before it failed"
                                                                                  : "whatever happened before");
    bool runs_image = s.type != StepType::kBuild && s.type != StepType::kPush;
    if (runs_image) out += fmt::format("  image:    {}\n", p.image.empty() ? "-" : p.image);
    if (!s.services.empty()) out += fmt::format("  services: {}\n", s.services);
    if (!p.network.empty()) out += fmt::format("  network:  {}\n", p.network);
    if (!p.workdir.empty()) out += fmt::format("  workdir:  {}\n", p.workdir);
    for (const auto& c : p.commands) out += fmt::format("  $ {}\n", c);
    if (p.commands.empty() && !s.command.empty()) out += fmt::format("  command:  {}\n", fmt::join(s.command, " "));
    for (const auto& secret : s.secrets)
      out += secret.as_file ? fmt::format("  secret:   /run/secrets/{} (a file)\n", secret.name)
                            : fmt::format("  secret:   {}=***\n", secret.name);
    for (const auto& cache : s.caches)
      out += fmt::format("  cache:    {} -> {}\n", cache.key, fmt::join(cache.paths, ", "));
    if (!s.artifacts.empty()) out += fmt::format("  keeps:    {}\n", fmt::join(s.artifacts, ", "));
    if (!s.junit_reports.empty()) out += fmt::format("  junit:    {}\n", fmt::join(s.junit_reports, ", "));
    // The step's own variables come last, after the CI ones every step has.
    if (runs_image)
      for (size_t k = p.env.size() - s.env.size(); k < p.env.size(); ++k)
        out += fmt::format("  env:      {}\n", p.env[k]);
  }
  return out;
}

}  // namespace slipway::pipeline
