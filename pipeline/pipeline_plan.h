// A pipeline file resolved for one run: each step's image, environment (CI variables, then its
// own, with ${NAME}s replaced), script, network and whether its `when` holds, and the graph they
// run in. Pure: `pipeline plan` prints it without running anything, and the executor
// (pipeline_steps.cc) runs exactly what it says.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_graph.h"
#include "pipeline/variables.h"

namespace slipway::pipeline {

// What a run is for.
struct PlanContext {
  RunFacts facts;               // commit, run id, project, environment
  std::string event = "manual";  // push | manual | watch
  bool environment_pushes = false;  // the environment's `push:`
  std::string app_image;        // <app>:<commit>; empty without an app
};

struct PlannedStep {
  const StepSpec* spec = nullptr;  // points into the PipelineSpec the plan was made from
  std::string image;               // what its container runs (the app image for `app`)
  // K=V in order: the CI variables and CI_JOB_NAME, then the step's own (which win).
  std::vector<std::string> env;
  std::vector<std::string> commands;  // interpolated; empty: spec->command is run as it is
  std::string network;  // commands steps: none | host | default | NETWORK
  std::string workdir;  // empty: the image's own
  bool enabled = true;  // its branch, environment and event conditions hold
  std::string skip_reason;  // why not, when !enabled
};

struct PipelinePlan {
  std::vector<PlannedStep> steps;  // in the file's order (build first when implicit)
  StepGraph graph;                 // the same indices
};

// Errors name the file, line and step: an undefined ${NAME}, a bad image after interpolation.
Result<PipelinePlan> plan_pipeline(const PipelineSpec& spec, const PlanContext& context);

// The shell script for `sh -e -c`: each command echoed as "$ command" before it runs, as GitLab
// and Woodpecker logs show them.
std::string command_script(const std::vector<std::string>& commands);

// A readable listing of the plan: the steps in an order that respects their dependencies, each
// with its type, image, dependencies, environment and what its `when` says.
std::string describe_plan(const PipelinePlan& plan);

}  // namespace slipway::pipeline
