// Pipeline sub-commands: pipeline run, watch, ls, show; services up|down|status.
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
#include "pipeline/service_sets.h"
#include "pipeline/slipway_backend.h"
#include "pipeline/step_progress.h"

namespace slipway::cli {
namespace {

struct PipelineArgs {
  std::string repo = ".";
  std::string rev, branch, env = "testing", file = ".slipway.yml";
  double interval = 10;
  int max_runs = 0;  // watch: stop after this many runs (0: never)
};

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
  r.root = std::filesystem::absolute(g.root).string();
  r.run_root = SLW_TRY(run_root(g));
  r.progress_fd = STDERR_FILENO;
  r.progress_is_terminal = ::isatty(STDERR_FILENO);
  return r;
}

int report(const pipeline::PipelineOutcome& out) {
  const auto& rec = out.record;
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

std::string run_status(const pipeline::RunRecord& r) {
  if (!r.finished) return "running";
  return r.passed ? "passed" : "failed";
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
               r.environment, r.commit.empty() ? "-" : r.commit.substr(0, 12), run_status(r),
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
             run_status(r), pipeline::format_duration(r.duration_ms));
  for (const auto& s : r.steps) fmt::print("{}\n", pipeline::render_step_line(s, false, false));
  fmt::print("report: {}/report.html\n", match.front()->dir);
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
  auto run = pipeline->add_subcommand("run", "run the pipeline for one commit");
  common(run);
  run->add_option("--rev", args->rev, "commit, tag or revision (default: the branch head; with --branch, the branch is only recorded)");
  run->callback([&g, &outcome, args] { run_command(outcome, [&] { return do_run(g, *args); }); });

  auto watch = pipeline->add_subcommand("watch", "run the pipeline for each new commit of a branch");
  common(watch);
  watch->add_option("--interval", args->interval, "seconds between polls")->capture_default_str();
  watch->add_option("--max-runs", args->max_runs, "stop after N runs (default: never)");
  watch->callback([&g, &outcome, args] { run_command(outcome, [&] { return do_watch(g, *args); }); });

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
