#include "pipeline/garbage.h"

#include <set>

#include "base/fs.h"
#include "pipeline/git_checkout.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_run.h"
#include "runtime/container_ops.h"
#include "runtime/container_store.h"

namespace slipway::pipeline {
namespace {

// A run whose runner died before it finished: its report says so, and its workspace and the
// report it was writing go.
Result<bool> collect_run(const std::string& run_dir, std::vector<std::string>& partial) {
  auto runner = read_runner(run_dir);
  if (!runner || runtime::process_alive(runner->pid, runner->start_time)) return false;
  // "src": where runs before the workspace kept their checkout.
  for (const char* dir : {"workspace", "src"})
    if (std::string path = fs::join(run_dir, dir); fs::exists(path)) SLW_TRY(fs::remove_tree(path));
  for (auto& name : SLW_TRY(fs::remove_stale_atomic_writes(run_dir)))
    partial.push_back(std::move(name));
  auto text = fs::read_file(fs::join(run_dir, "summary.json"));
  if (!text) return false;
  RunRecord record = SLW_TRY(parse_summary_json(*text));
  if (record.finished) return false;
  for (auto& step : record.steps) {
    if (step.status == StepStatus::kPending) {
      step.status = StepStatus::kSkipped;
      step.message = "the pipeline runner was killed before it";
    }
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

Result<PruneReport> prune_pipelines(const std::string& root, const std::string& run_root,
                                    const PruneRequest& request) {
  PruneReport report;
  if (request.keep_runs) {
    std::vector<RunSummary> finished;
    std::set<std::string> kept_commits;
    for (auto& run : SLW_TRY(list_runs(root))) {
      if (run.record.finished)
        finished.push_back(std::move(run));
      else
        kept_commits.insert(run.record.commit);
    }
    size_t remove = finished.size() > *request.keep_runs ? finished.size() - *request.keep_runs : 0;
    std::set<std::string> removed_commits;
    for (size_t i = 0; i < finished.size(); ++i) {
      const RunSummary& run = finished[i];  // oldest first
      if (i >= remove) {
        kept_commits.insert(run.record.commit);
        continue;
      }
      SLW_TRY(fs::remove_tree(run.dir));
      report.runs.push_back(run.record.id);
      removed_commits.insert(run.record.commit);
    }
    // Mounted by a container: a record's config names the copy's path.
    std::string configs;
    if (auto store = runtime::ContainerStore::open(run_root))
      if (auto records = store->list())
        for (const auto& r : *records)
          if (auto text = fs::read_file(fs::join(store->dir(r.id), "config.json"))) configs += *text;
    for (const auto& commit : removed_commits) {
      std::string copy = fs::join(snapshot_copies_dir(root), commit);
      if (commit.empty() || kept_commits.contains(commit) || !fs::exists(copy) ||
          configs.find(copy) != std::string::npos)
        continue;
      SLW_TRY(fs::remove_tree(copy));
      report.snapshot_copies.push_back(commit);
    }
  }
  if (request.cache_max) report.caches = SLW_TRY(prune_caches(root, *request.cache_max));
  return report;
}

}  // namespace slipway::pipeline
