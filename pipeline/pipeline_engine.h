// `slipway pipeline run`: checkout, then the steps of the pipeline file as a graph, independent
// ones in parallel (see pipeline_spec.h for the order and step_graph.h for what a failure
// cancels). Each run gets a directory under <root>/pipelines/runs/<id> with one log per step,
// summary.json, junit.xml and report.html, rewritten after every step so a killed run still
// leaves a valid report.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/run_report.h"

namespace slipway::pipeline {

struct PipelineRequest {
  std::string repo;         // path or URL
  std::string rev;          // commit, tag...; empty: branch
  std::string branch;       // empty with empty rev: the remote HEAD
  std::string environment = "testing";
  std::string file = ".slipway.yml";  // relative to the repository root
  std::string root;         // slipway --root
  std::string run_root;     // slipway --run-root (resolved)
  std::string event = "manual";  // what started the run, for `when: event:` (push | manual | watch)
  int jobs = 0;             // steps run at once at most; 0: the number of CPUs
  bool keep_workspace = false;  // keep <run dir>/workspace after the run
  std::string secrets_file;  // empty: <root>/secrets/<project>.env, if it exists
  int progress_fd = 2;      // live step progress; -1: none
  bool progress_is_terminal = false;
};

struct PipelineOutcome {
  RunRecord record;
  std::string run_dir;
  bool interrupted = false;  // by SIGINT or SIGTERM
};

// Fails only when the run could not be set up at all; a failing step is a finished run with
// record.passed == false.
Result<PipelineOutcome> run_pipeline(const PipelineRequest& request);
// The same on another backend (the unit tests' fake); `backend` outlives the call.
class ContainerBackend;
Result<PipelineOutcome> run_pipeline(const PipelineRequest& request, ContainerBackend& backend);

struct RunSummary {
  std::string dir;
  RunRecord record;
};
// Every run under the root with a readable summary, oldest first.
Result<std::vector<RunSummary>> list_runs(const std::string& root);

// Where runs live.
std::string pipeline_runs_dir(const std::string& root);
std::string git_cache_dir(const std::string& root);
// Copies of a commit's relative snapshot sources, <dir>/<commit>; made in <commit>.tmp-<pid>.
std::string snapshot_copies_dir(const std::string& root);

}  // namespace slipway::pipeline
