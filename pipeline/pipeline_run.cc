#include "pipeline/pipeline_run.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/chrono.h>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/random_id.h"
#include "base/scope_exit.h"
#include "pipeline/masked_log.h"
#include "runtime/container_store.h"

namespace slipway::pipeline {
namespace {

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::atomic<int> g_interrupt_signal{0};

void on_interrupt(int sig) {
  g_interrupt_signal.store(sig);
  kill_all_children();
}

}  // namespace

bool pipeline_interrupted() { return g_interrupt_signal.load() != 0; }

void PipelineRun::catch_interrupts() {
  g_interrupt_signal.store(0);  // a new run starts uninterrupted
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int_);
  ::sigaction(SIGTERM, &sa, &old_term_);
  interrupts_caught_ = true;
}

PipelineRun::~PipelineRun() {
  if (!interrupts_caught_) return;
  ::sigaction(SIGINT, &old_int_, nullptr);
  ::sigaction(SIGTERM, &old_term_, nullptr);
}

std::string pipeline_runs_dir(const std::string& root) { return fs::join(root, "pipelines/runs"); }
std::string git_cache_dir(const std::string& root) { return fs::join(root, "pipelines/git"); }
std::string snapshot_copies_dir(const std::string& root) {
  return fs::join(root, "pipelines/snapshots");
}

PipelineRun::PipelineRun(PipelineRequest request, ContainerBackend& backend, std::string dir,
                         std::string short_id)
    : request_(std::move(request)), dir_(std::move(dir)), short_id_(std::move(short_id)), backend_(backend) {}

Result<std::unique_ptr<PipelineRun>> PipelineRun::create(const PipelineRequest& request,
                                                         ContainerBackend& backend) {
  std::string short_id = random_hex_id().substr(0, 6);
  auto now = std::chrono::system_clock::now();
  // Sorts by start time, to the millisecond.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string id = fmt::format("{:%Y%m%d-%H%M%S}{:03d}-{}", std::chrono::floor<std::chrono::seconds>(now), ms,
                               short_id);
  std::string dir = fs::join(pipeline_runs_dir(request.root), id);
  // Filled under a hidden name and renamed into place, so that every run dir names its runner and
  // has a report: gc can always settle it. A killed create leaves only the hidden dir, whose name
  // carries the pid that gc checks (remove_staged_runs).
  std::string staging = staging_run_dir(request.root, id, ::getpid());
  SLW_TRY(fs::make_dirs(staging, 0755));
  ScopeExit remove_staging([&] { (void)fs::remove_tree(staging); });
  nlohmann::json runner = {{"pid", ::getpid()}, {"start_time", runtime::process_start_time(::getpid())}};
  SLW_TRY(fs::write_file_atomic(fs::join(staging, "runner.json"), runner.dump() + "\n"));

  std::unique_ptr<PipelineRun> run(new PipelineRun(request, backend, dir, short_id));
  run->record_.id = id;
  run->record_.environment = request.environment;
  run->record_.repo = request.repo;
  run->record_.branch = request.branch;
  run->record_.start_unix_ms = unix_now_ms();
  SLW_TRY(write_reports(run->record_, staging));
  if (::rename(staging.c_str(), dir.c_str()) < 0)
    return fail_errno(fmt::format("rename {} to {}", staging, dir));
  remove_staging.release();
  if (request.progress_fd >= 0)
    run->progress_ =
        std::make_unique<StepProgress>(request.progress_fd, request.progress_is_terminal);
  return run;
}

std::string staging_run_dir(const std::string& root, const std::string& id, pid_t pid) {
  return fs::join(pipeline_runs_dir(root), fmt::format(".{}.{}", id, pid));
}

Result<std::vector<std::string>> remove_staged_runs(const std::string& root) {
  std::vector<std::string> removed;
  auto names = fs::list_dir(pipeline_runs_dir(root));
  if (!names) return removed;
  for (const auto& name : *names) {
    if (!name.starts_with(".") || !fs::process_gone(fs::pid_after_mark(name.substr(1), ".")))
      continue;
    SLW_TRY(fs::remove_tree(fs::join(pipeline_runs_dir(root), name)));
    removed.push_back(name);
  }
  return removed;
}

std::string PipelineRun::container_name(const std::string& role) const {
  std::string app = spec.app.name.empty() ? "pipeline" : spec.app.name;
  return fmt::format("{}-{}-{}", app, short_id_, role);
}

void PipelineRun::save_locked() {
  record_.duration_ms = unix_now_ms() - record_.start_unix_ms;
  if (auto st = write_reports(record_, dir_); !st)
    log::warn("pipeline {}: write reports: {}", record_.id, st.error().message());
}

size_t PipelineRun::add_step(const std::string& name) {
  std::lock_guard lock(mu_);
  StepRecord s;
  s.name = name;
  record_.steps.push_back(s);
  return record_.steps.size() - 1;
}

void PipelineRun::skip_step(size_t index, const std::string& why) {
  std::lock_guard lock(mu_);
  StepRecord& s = record_.steps[index];
  s.status = StepStatus::kSkipped;
  s.start_unix_ms = unix_now_ms();
  s.message = why;
  if (progress_) progress_->finished(s);
  save_locked();
}

namespace {

void write_line(const StepLog& log, const std::string& text) {
  if (log.fd) (void)!::write(log.fd.get(), (text + "\n").data(), text.size() + 1);
}

}  // namespace

bool PipelineRun::run_step(size_t index, const std::function<Result<StepOutcome>(StepLog&)>& body,
                           int attempts) {
  StepRecord s;
  {
    std::lock_guard lock(mu_);
    s = record_.steps[index];
    s.status = StepStatus::kRunning;
    s.start_unix_ms = unix_now_ms();
    s.log_file = s.name + ".log";
    record_.steps[index] = s;
    save_locked();
    if (progress_) progress_->started(s);
  }

  auto started = std::chrono::steady_clock::now();
  StepLog log;
  log.path = fs::join(dir_, s.log_file);
  UniqueFd file(::open(log.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  Result<StepOutcome> outcome = fail_errno("open " + log.path);
  // With secrets, the step writes into a pipe and only masked text reaches the file.
  std::unique_ptr<MaskedLog> masked_log;
  if (file && mask_) {
    auto opened = MaskedLog::open(file.get(), *mask_);
    if (opened) {
      masked_log = std::move(*opened);
      log.fd = std::move(masked_log->write_end());
    } else {
      outcome = std::unexpected(opened.error());
      file.reset();
    }
  } else {
    log.fd = std::move(file);
  }
  for (int attempt = 1; log.fd && attempt <= attempts; ++attempt) {
    outcome = body(log);
    bool passed = outcome && outcome->passed;
    if (passed || attempt == attempts || pipeline_interrupted()) break;
    write_line(log, fmt::format("slipway: attempt {} of {} failed ({}); trying again", attempt, attempts,
                                outcome ? outcome->message : outcome.error().message()));
  }
  s.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                      .count();
  if (!outcome) {
    s.status = StepStatus::kFailed;
    s.message = masked(outcome.error().message());
    // The reason also ends the step's log, where someone reading only the log looks for it.
    write_line(log, "slipway: " + s.message);
  } else {
    s.status = outcome->passed ? StepStatus::kPassed : StepStatus::kFailed;
    s.exit_code = outcome->exit_code;
    s.command_ms = outcome->command_ms;
    s.message = masked(outcome->message);
    s.artifacts = std::move(outcome->artifacts);
    s.tests = std::move(outcome->tests);
    for (auto& t : s.tests) {
      t.message = masked(t.message);
      t.details = masked(t.details);
    }
  }
  log.fd.reset();
  if (masked_log) masked_log->finish(std::chrono::seconds(2));
  if (int sig = g_interrupt_signal.load()) {
    s.status = StepStatus::kFailed;
    s.message = fmt::format("interrupted by {}", sigabbrev_np(sig) ? sigabbrev_np(sig) : "a signal");
  }
  if (s.status == StepStatus::kFailed) failed_ = true;
  std::lock_guard lock(mu_);
  record_.steps[index] = s;
  if (progress_) progress_->finished(s);
  save_locked();
  return s.status == StepStatus::kPassed;
}

void PipelineRun::finish() {
  {
    std::lock_guard lock(mu_);
    record_.finished = true;
    record_.passed = !failed_;
    save_locked();
  }
  // The reports and logs stay; the workspace (the checkout and what steps wrote there) is only
  // needed while steps run, unless the user keeps it to look at.
  if (std::string workspace = fs::join(dir_, "workspace"); !request_.keep_workspace && fs::exists(workspace)) {
    if (auto st = fs::remove_tree(workspace); !st) log::warn("pipeline {}: {}", record_.id, st.error().message());
  }
}

Result<std::vector<RunSummary>> list_runs(const std::string& root) {
  std::vector<RunSummary> out;
  std::string runs = pipeline_runs_dir(root);
  if (!fs::exists(runs)) return out;
  for (const auto& id : SLW_TRY(fs::list_dir(runs))) {  // sorted: ids start with the time
    if (id.starts_with(".")) continue;                  // being made (staging_run_dir)
    std::string dir = fs::join(runs, id);
    auto text = fs::read_file(fs::join(dir, "summary.json"));
    if (!text) continue;
    if (auto record = parse_summary_json(*text)) out.push_back({dir, std::move(*record)});
  }
  return out;
}

Result<RunnerProcess> read_runner(const std::string& run_dir) {
  std::string text = SLW_TRY(fs::read_file(fs::join(run_dir, "runner.json")));
  try {
    auto j = nlohmann::json::parse(text);
    return RunnerProcess{j.at("pid").get<pid_t>(), j.at("start_time").get<uint64_t>()};
  } catch (const nlohmann::json::exception& e) {
    return fail("{}/runner.json: {}", run_dir, e.what());
  }
}

}  // namespace slipway::pipeline
