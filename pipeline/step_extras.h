// What a step that runs its own container brings besides its command: its secrets (an env file
// and /run/secrets on the run root's tmpfs, removed after the step), its caches (locked and
// mounted), and afterwards, pass or fail, its artifacts and JUnit reports copied out of the
// workspace into the run directory.
#pragma once

#include <memory>
#include <string>

#include "base/error.h"
#include "pipeline/caches.h"
#include "pipeline/pipeline_plan.h"
#include "pipeline/pipeline_run.h"
#include "pipeline/secrets.h"

namespace slipway::pipeline {

class StepExtras {
 public:
  // Writes the step's secret files and leases its caches; notes go to the step's log.
  static Result<std::unique_ptr<StepExtras>> prepare(const PipelineRun& run, const PlannedStep& step, StepLog& log);
  ~StepExtras();
  StepExtras(const StepExtras&) = delete;
  StepExtras& operator=(const StepExtras&) = delete;

  // Adds the env file and the mounts to a container of the step.
  void add_to(RunOptions& options) const;

 private:
  StepExtras() = default;
  std::string secrets_dir_;
  StepSecretFiles secret_files_;
  CacheLease caches_;
};

// Copies the step's artifacts and reports out of the workspace into the outcome (and the run
// directory). Problems are noted in the log; they do not change whether the step passed.
void collect_step_outputs(const PipelineRun& run, const PlannedStep& step, StepLog& log, StepOutcome& outcome);

}  // namespace slipway::pipeline
