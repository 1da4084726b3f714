// Pipeline sub-commands: pipeline run, watch, lint, plan, ls, show; services up|down|status.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/fs.h"
#include "cli/cli.h"
#include "pipeline/git_checkout.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_file.h"
#include "pipeline/pipeline_plan.h"
#include "pipeline/service_sets.h"
#include "pipeline/slipway_backend.h"
#include "pipeline/step_progress.h"

namespace slipway::cli {
namespace {

struct PipelineArgs {
  std::string repo = ".";
  std::string rev, branch, env = "testing", file = ".slipway.yml";
  std::string event = "manual";
  int jobs = 0;
  bool keep_workspace = false;
  std::string secrets_file;
  double interval = 10;
  int max_runs = 0;  // watch: stop after this many runs (0: never)
};

// What started a run, for `when: event:`.
Status check_event(const std::string& event) {
  if (event == "push" || event == "manual" || event == "watch") return {};
  return fail("invalid --event \"{}\": want push, manual or watch", event);
}

Result<pipeline::PipelineRequest> make_request(const GlobalOptions& g, const PipelineArgs& a) {
  pipeline::PipelineRequest r;
  r.repo = a.repo;
  // A local path is resolved now: the checkout runs elsewhere.
  if (a.repo.find("://") == std::string::npos && fs::exists(a.repo))
    r.repo = std::filesystem::absolute(a.repo).lexically_normal().string();
  r.rev = a.rev;
  r.branch = a.branch;
  r.environment = a.env;
  r.file = a.file;
  SLW_TRY(check_event(a.event));
  r.event = a.event;
  if (a.jobs < 0) return fail("invalid --jobs {}: want 0 (one per CPU) or more", a.jobs);
  r.jobs = a.jobs;
  r.keep_workspace = a.keep_workspace;
  if (!a.secrets_file.empty()) r.secrets_file = std::filesystem::absolute(a.secrets_file).string();
  r.root = std::filesystem::absolute(g.root).string();
  r.run_root = SLW_TRY(run_root(g));
  r.progress_fd = STDERR_FILENO;
  r.progress_is_terminal = ::isatty(STDERR_FILENO);
  return r;
}

int report(const pipeline::PipelineOutcome& out) {
  const auto& rec = out.record;
  // The steps' test results: counts, and each failed test with its message.
  for (const auto& step : rec.steps) {
    if (step.tests.empty()) continue;
    auto c = pipeline::count_tests(step.tests);
    fmt::print(stderr, "{}: {} tests, {} failed, {} errors, {} skipped\n", step.name, c.tests, c.failures, c.errors,
               c.skipped);
    for (const auto& t : step.tests)
      if (t.status == pipeline::TestStatus::kFailed || t.status == pipeline::TestStatus::kError)
        fmt::print(stderr, "  {} {}{}: {}\n", t.status == pipeline::TestStatus::kFailed ? "FAILED" : "ERROR",
                   t.classname.empty() ? "" : t.classname + ".", t.name, t.message.substr(0, t.message.find('\n')));
  }
  fmt::print(stderr, "pipeline {} {} in {} (commit {}); report: {}/report.html\n", rec.id,
             rec.passed ? "passed" : "FAILED", pipeline::format_duration(rec.duration_ms),
             rec.commit.empty() ? "-" : rec.commit.substr(0, 12), out.run_dir);
  return out.interrupted ? 130 : rec.passed ? 0 : 1;
}

Result<int> do_run(const GlobalOptions& g, const PipelineArgs& a) {
  auto out = SLW_TRY(pipeline::run_pipeline(SLW_TRY(make_request(g, a))));
  return report(out);
}

// Polls the branch and runs the pipeline for every commit it moves to (the current one first).
Result<int> do_watch(const GlobalOptions& g, const PipelineArgs& a) {
  if (!(a.interval > 0)) return fail("pipeline watch: --interval must be > 0");
  pipeline::PipelineRequest request = SLW_TRY(make_request(g, a));
  request.event = "watch";
  std::string last;
  int runs = 0, failures = 0;
  for (;;) {
    auto head = pipeline::resolve_branch_head(request.repo, a.branch, pipeline::git_cache_dir(request.root));
    if (!head) {
      print_error(head.error());
    } else if (*head != last) {
      last = *head;
      request.rev = *head;
      auto out = pipeline::run_pipeline(request);
      if (!out) print_error(out.error());
      if (out && out->interrupted) return report(*out);  // Ctrl-C ends the watch too
      if (!out || report(*out) != 0) ++failures;
      if (a.max_runs && ++runs >= a.max_runs) return failures ? 1 : 0;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(a.interval));
  }
}

Result<int> do_ls(const GlobalOptions& g) {
  fmt::print("{:<26}  {:<16}  {:<8}  {:<12}  {:<7}  {:>9}  {}\n", "RUN", "APP", "ENV", "COMMIT", "STATUS",
             "DURATION", "FAILED STEP");
  for (const auto& run : SLW_TRY(pipeline::list_runs(g.root))) {
    const auto& r = run.record;
    std::string failed;
    for (const auto& s : r.steps)
      if (s.status == pipeline::StepStatus::kFailed) failed = s.name;
    fmt::print("{:<26}  {:<16}  {:<8}  {:<12}  {:<7}  {:>9}  {}\n", r.id, r.app.empty() ? "-" : r.app,
               r.environment, r.commit.empty() ? "-" : r.commit.substr(0, 12), pipeline::run_status(r),
               pipeline::format_duration(r.duration_ms), failed);
  }
  return 0;
}

// One run's steps; RUN is an id, a unique prefix of one, or "last".
Result<int> do_show(const GlobalOptions& g, const std::string& id) {
  auto runs = SLW_TRY(pipeline::list_runs(g.root));
  std::vector<const pipeline::RunSummary*> match;
  for (const auto& run : runs)
    if (run.record.id.starts_with(id) || (id == "last" && &run == &runs.back())) match.push_back(&run);
  if (match.empty()) return fail("no pipeline run \"{}\"", id);
  if (match.size() > 1) return fail("pipeline run \"{}\" is ambiguous ({} runs match)", id, match.size());
  const auto& r = match.front()->record;
  fmt::print("run {}: {} {} at {} ({}), {} in {}\n", r.id, r.app, r.environment, r.commit, r.commit_summary,
             pipeline::run_status(r), pipeline::format_duration(r.duration_ms));
  for (const auto& s : r.steps) fmt::print("{}\n", pipeline::render_step_line(s, false, false));
  fmt::print("report: {}/report.html\n", match.front()->dir);
  return 0;
}

// `pipeline lint [FILE]`: the whole file checked, every error as FILE:LINE.
Result<int> do_lint(const std::string& file) {
  pipeline::PipelineSpec spec = SLW_TRY(pipeline::load_pipeline_file(file));
  fmt::print("{}: ok, {} steps\n", file, spec.steps.size());
  return 0;
}

struct PlanArgs {
  std::string file = ".slipway.yml";
  std::string env = "testing", branch = "main", event = "manual";
};

// `pipeline plan`: what a run of this file would do, with nothing run. The commit is not known
// here, so its variables hold placeholders.
Result<int> do_plan(const PlanArgs& a) {
  pipeline::PipelineSpec spec = SLW_TRY(pipeline::load_pipeline_file(a.file));
  const pipeline::EnvironmentSpec* env = SLW_TRY(pipeline::find_environment(spec, a.env));
  SLW_TRY(check_event(a.event));
  pipeline::PlanContext context;
  context.facts.commit = {.sha = std::string(40, '0'), .branch = a.branch, .tag = "", .message = "", .timestamp = 0};
  context.facts.pipeline_id = "plan";
  context.facts.project = spec.app.name.empty()
                              ? std::filesystem::absolute(a.file).parent_path().filename().string()
                              : spec.app.name;
  context.facts.environment = a.env;
  context.event = a.event;
  context.environment_pushes = env->push;
  if (!spec.app.name.empty()) context.app_image = spec.app.name + ":<commit>";
  pipeline::PipelinePlan plan = SLW_TRY(pipeline::plan_pipeline(spec, context));
  fmt::print("plan of {} for branch {}, environment {}, event {}:\n{}", a.file, a.branch, a.env, a.event,
             pipeline::describe_plan(plan));
  return 0;
}

struct ServicesArgs {
  std::string set;
  std::string file = ".slipway.yml";
};

Result<int> do_services(const GlobalOptions& g, const ServicesArgs& a, const std::string& action) {
  pipeline::PipelineSpec spec = SLW_TRY(pipeline::load_pipeline_file(a.file));
  auto it = spec.service_sets.find(a.set);
  if (it == spec.service_sets.end()) return fail("{}: no service set \"{}\"", a.file, a.set);
  pipeline::SlipwayBackend backend(
      {.binary = "/proc/self/exe", .root = g.root, .run_root = SLW_TRY(run_root(g)), .env = {}});
  std::string base = std::filesystem::absolute(a.file).parent_path().string();
  // What the child commands print goes to a log; a failure quotes its last line.
  std::string log_path = fs::join(backend.invocation().run_root, "services-" + a.set + ".log");
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return fail_errno("open " + log_path);
  pipeline::ServiceSets sets(backend, base, pipeline::host_snapshot_dir(g.root), log.get(), log_path, spec.pull);
  if (action == "up") {
    SLW_TRY(sets.up(it->second));
  } else if (action == "down") {
    SLW_TRY(sets.down(it->second));
  }
  fmt::print("{:<28}  {:<8}  {:<12}  {}\n", "SERVICE", "STATE", "CONTAINER", "ADDRESS");
  for (const auto& s : SLW_TRY(sets.status(it->second))) {
    std::string state = !s.container ? "absent" : s.container->running ? "running" : "exited";
    fmt::print("{:<28}  {:<8}  {:<12}  {}\n", s.name, state, s.container ? s.container->id.substr(0, 12) : "-",
               s.address.empty() ? "-" : s.address);
  }
  return 0;
}

}  // namespace

void register_pipeline_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto pipeline = app.add_subcommand("pipeline", "run CI pipelines from a repository's .slipway.yml");
  pipeline->require_subcommand(1);
  auto args = std::make_shared<PipelineArgs>();
  auto common = [args](CLI::App* cmd) {
    cmd->add_option("--repo", args->repo, "repository: path, file://, https:// or ssh:// URL")
        ->capture_default_str();
    cmd->add_option("--branch", args->branch, "branch (default: the remote HEAD)");
    cmd->add_option("--env", args->env, "environment: testing, staging...")->capture_default_str();
    cmd->add_option("--file", args->file, "pipeline file in the repository")->capture_default_str();
  };
  auto steps_options = [args](CLI::App* cmd) {
    cmd->add_option("--jobs,-j", args->jobs, "steps run at once at most (default: one per CPU)");
    cmd->add_flag("--keep-workspace", args->keep_workspace, "keep the run's workspace (the checkout) after it");
    cmd->add_option("--secrets", args->secrets_file,
                    "NAME=VALUE file of the steps' secrets (default: ROOT/secrets/PROJECT.env)");
  };
  auto run = pipeline->add_subcommand("run", "run the pipeline for one commit");
  common(run);
  steps_options(run);
  run->add_option("--event", args->event, "what started the run, for when: event: push, manual or watch")
      ->capture_default_str();
  run->add_option("--rev", args->rev, "commit, tag or revision (default: the branch head; with --branch, the branch is only recorded)");
  run->callback([&g, &outcome, args] { run_command(outcome, [&] { return do_run(g, *args); }); });

  auto watch = pipeline->add_subcommand("watch", "run the pipeline for each new commit of a branch");
  common(watch);
  steps_options(watch);
  watch->add_option("--interval", args->interval, "seconds between polls")->capture_default_str();
  watch->add_option("--max-runs", args->max_runs, "stop after N runs (default: never)");
  watch->callback([&g, &outcome, args] { run_command(outcome, [&] { return do_watch(g, *args); }); });

  auto lint = pipeline->add_subcommand("lint", "check a pipeline file; every error as FILE:LINE");
  auto lint_file = std::make_shared<std::string>(".slipway.yml");
  lint->add_option("FILE", *lint_file, "pipeline file")->capture_default_str();
  lint->callback([&outcome, lint_file] { run_command(outcome, [&] { return do_lint(*lint_file); }); });

  auto plan = pipeline->add_subcommand("plan", "show the steps a run would take, their order, images and env");
  auto plan_args = std::make_shared<PlanArgs>();
  plan->add_option("FILE", plan_args->file, "pipeline file")->capture_default_str();
  plan->add_option("--env", plan_args->env, "environment")->capture_default_str();
  plan->add_option("--branch", plan_args->branch, "branch the run is for")->capture_default_str();
  plan->add_option("--event", plan_args->event, "push, manual or watch")->capture_default_str();
  plan->callback([&outcome, plan_args] { run_command(outcome, [&] { return do_plan(*plan_args); }); });

  auto ls = pipeline->add_subcommand("ls", "list pipeline runs, oldest first");
  ls->callback([&g, &outcome] { run_command(outcome, [&] { return do_ls(g); }); });
  auto show = pipeline->add_subcommand("show", "show one run's steps and where its report is");
  auto show_id = std::make_shared<std::string>();
  show->add_option("RUN", *show_id, "run id, a unique prefix of one, or \"last\"")->required();
  show->callback([&g, &outcome, show_id] { run_command(outcome, [&] { return do_show(g, *show_id); }); });

  auto services = app.add_subcommand("services", "start, stop and show a pipeline file's service sets");
  services->require_subcommand(1);
  auto sargs = std::make_shared<ServicesArgs>();
  for (const char* action : {"up", "down", "status"}) {
    auto cmd = services->add_subcommand(action, std::string(action) + " a service set");
    cmd->add_option("SET", sargs->set, "service set, e.g. dev or prodlike")->required();
    cmd->add_option("--file,-f", sargs->file, "pipeline file")->capture_default_str();
    cmd->callback([&g, &outcome, sargs, action] {
      run_command(outcome, [&] { return do_services(g, *sargs, action); });
    });
  }
}

}  // namespace slipway::cli
