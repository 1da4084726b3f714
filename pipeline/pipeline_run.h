// One pipeline run in progress: its directory, record, step logs and progress output. The steps
// (pipeline_steps.cc) say what to run and when; this keeps the bookkeeping (timing, logs,
// retries, reports) in one place.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "pipeline/container_backend.h"
#include "pipeline/git_checkout.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_plan.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/run_report.h"
#include "pipeline/secret_mask.h"
#include "pipeline/secrets.h"
#include "pipeline/step_progress.h"

namespace slipway::pipeline {

// The log a step writes to: <run dir>/<step>.log.
struct StepLog {
  UniqueFd fd;
  std::string path;
};

// What a step body reports when it ran to the end.
struct StepOutcome {
  bool passed = true;
  int exit_code = -1;       // the user command's status, -1 if none
  int64_t command_ms = -1;  // time in the user command, -1 if none
  std::string message;      // why it failed, or a note ("image reused")
  std::vector<std::string> artifacts = {};   // kept files, relative to the run directory
  std::vector<TestCaseRecord> tests = {};    // from the step's JUnit reports
};

class PipelineRun {
 public:
  // Containers and images of the run go through `backend`, which must outlive the run.
  static Result<std::unique_ptr<PipelineRun>> create(const PipelineRequest& request, ContainerBackend& backend);
  ~PipelineRun();

  // Adds step `name` to the record as pending, and returns its index there.
  size_t add_step(const std::string& name);
  // Runs `body` as step `index`, again after a failure while attempts remain, and records
  // everything. Returns whether it passed. Steps run in parallel: safe from any thread.
  bool run_step(size_t index, const std::function<Result<StepOutcome>(StepLog&)>& body, int attempts = 1);
  // Records step `index` as skipped with `why`.
  void skip_step(size_t index, const std::string& why);
  // add_step, then run_step or skip_step.
  bool step(const std::string& name, const std::function<Result<StepOutcome>(StepLog&)>& body) {
    return run_step(add_step(name), body);
  }
  void skip(const std::string& name, const std::string& why) { skip_step(add_step(name), why); }
  // Marks the run finished and writes the reports a last time.
  void finish();

  // From here on the output of every step goes through a mask of these values before its log,
  // and step messages and test results are masked too. Set before steps run in parallel.
  void mask_secrets(const std::vector<std::string>& values) { mask_ = std::make_unique<SecretMask>(values); }
  // The message with every secret masked.
  std::string masked(std::string_view text) const { return mask_ ? mask_->mask(text) : std::string(text); }

  // From here on SIGINT and SIGTERM kill the step's child processes and end the run with its
  // reports written, instead of killing the runner outright; undone by the destructor.
  void catch_interrupts();
  // After an interrupt: waits until the killed steps' containers are gone and removes their records.
  void clean_up_after_interrupt() { backend_.clean_up_interrupted("-" + short_id_ + "-"); }

  // A name for a container of this run: <app>-<run>-<role>, unique across concurrent runs.
  std::string container_name(const std::string& role) const;

  const PipelineRequest& request() const { return request_; }
  const std::string& dir() const { return dir_; }
  const std::string& short_id() const { return short_id_; }
  // Written by the checkout step only, before any step runs in parallel.
  RunRecord& record() { return record_; }
  const RunRecord& record() const { return record_; }
  ContainerBackend& backend() { return backend_; }
  bool failed() const { return failed_.load(); }

  // Filled in by the checkout step.
  PipelineSpec spec;
  CheckoutResult checkout;
  const EnvironmentSpec* environment = nullptr;
  PlanContext plan_context;
  PipelinePlan plan;
  SecretFile secrets;  // loaded when some step uses secrets

 private:
  PipelineRun(PipelineRequest request, ContainerBackend& backend, std::string dir, std::string short_id);
  // Writes the reports; mu_ held.
  void save_locked();
  bool interrupts_caught_ = false;
  struct sigaction old_int_ {}, old_term_ {};

  PipelineRequest request_;
  std::string dir_;
  std::string short_id_;
  RunRecord record_;
  ContainerBackend& backend_;
  std::unique_ptr<StepProgress> progress_;
  std::unique_ptr<SecretMask> mask_;
  std::mutex mu_;  // guards record_ once steps run in parallel, and the reports written from it
  std::atomic<bool> failed_{false};
};

// Set once the runner got SIGINT or SIGTERM (see PipelineRun::catch_interrupts): the running
// step's children are killed, the step fails and the rest are skipped.
bool pipeline_interrupted();

// Records of runs, for gc: the runner's pid and start time are kept in <run dir>/runner.json.
struct RunnerProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;
};
Result<RunnerProcess> read_runner(const std::string& run_dir);

// Where a run's dir is filled before it is renamed to its id: <runs>/.<id>.<pid>.
std::string staging_run_dir(const std::string& root, const std::string& id, pid_t pid);
// For gc: staging dirs whose creator is dead. Returns their names.
Result<std::vector<std::string>> remove_staged_runs(const std::string& root);

}  // namespace slipway::pipeline
