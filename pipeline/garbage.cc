#include "pipeline/garbage.h"

#include "base/fs.h"
#include "pipeline/git_checkout.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_run.h"
#include "runtime/container_ops.h"

namespace slipway::pipeline {
namespace {

// A run whose runner died before it finished: its report says so, and its checkout and the
// report it was writing go.
Result<bool> collect_run(const std::string& run_dir, std::vector<std::string>& partial) {
  auto runner = read_runner(run_dir);
  if (!runner || runtime::process_alive(runner->pid, runner->start_time)) return false;
  std::string src = fs::join(run_dir, "src");
  if (fs::exists(src)) SLW_TRY(fs::remove_tree(src));
  for (auto& name : SLW_TRY(fs::remove_stale_atomic_writes(run_dir)))
    partial.push_back(std::move(name));
  auto text = fs::read_file(fs::join(run_dir, "summary.json"));
  if (!text) return false;
  RunRecord record = SLW_TRY(parse_summary_json(*text));
  if (record.finished) return false;
  for (auto& step : record.steps) {
    if (step.status != StepStatus::kRunning) continue;
    step.status = StepStatus::kFailed;
    step.message = "the pipeline runner was killed";
  }
  record.finished = true;
  record.passed = false;
  SLW_TRY(write_reports(record, run_dir));
  return true;
}

// Snapshot copies that a killed runner left half made (<commit>.tmp-<pid>).
Result<std::vector<std::string>> remove_partial_snapshot_copies(const std::string& root) {
  std::vector<std::string> removed;
  std::string dir = snapshot_copies_dir(root);
  auto names = fs::list_dir(dir);
  if (!names) return removed;
  for (const auto& name : *names) {
    if (!fs::process_gone(fs::pid_after_mark(name, ".tmp-"))) continue;
    SLW_TRY_CTX(fs::remove_tree(fs::join(dir, name)), "gc snapshot copy {}", name);
    removed.push_back(name);
  }
  return removed;
}

}  // namespace

Result<RunGarbageReport> collect_run_garbage(const std::string& root) {
  RunGarbageReport report;
  for (auto& name : SLW_TRY(remove_staged_runs(root))) report.partial.push_back(std::move(name));
  for (auto& name : SLW_TRY(remove_partial_snapshot_copies(root)))
    report.partial.push_back(std::move(name));
  for (auto& name : SLW_TRY(remove_partial_mirror_files(git_cache_dir(root))))
    report.partial.push_back(std::move(name));
  if (auto runs = fs::list_dir(pipeline_runs_dir(root))) {
    for (const auto& id : *runs)
      if (!id.starts_with(".") &&
          SLW_TRY(collect_run(fs::join(pipeline_runs_dir(root), id), report.partial)))
        report.runs.push_back(id);
  }
  return report;
}

}  // namespace slipway::pipeline
