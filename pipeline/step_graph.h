// The steps of a pipeline as a graph (`depends_on`) and the order they may run in, with the
// `when: status:` rules of Woodpecker and GitLab: a step runs once its dependencies are done and
//   success (the default): none of them failed;
//   failure: one of them failed (a follow-up: notify, collect logs);
//   always:  whatever happened.
// A failure or always step without depends_on waits for every success step. A step whose
// dependencies failed is cancelled, and counts as failed for those after it; a step skipped by its
// own `when` (branch, environment) counts as done. Pure: the executor asks take_ready() what to
// start and reports each end with finish().
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

enum class WhenStatus { kSuccess, kFailure, kAlways };

struct GraphStep {
  std::string name;
  std::vector<std::string> depends_on;
  WhenStatus when_status = WhenStatus::kSuccess;
  bool enabled = true;  // false: its branch/environment/event condition does not hold
};

enum class StepState { kWaiting, kRunning, kPassed, kFailed, kSkipped, kCancelled };

class StepGraph {
 public:
  // Errors name the step: a duplicate name, an unknown or self dependency, a cycle ("a -> b -> a").
  static Result<StepGraph> build(std::vector<GraphStep> steps);

  // Steps that may start now, in file order; they become kRunning. Steps that can no longer run
  // become kSkipped or kCancelled first (see why()).
  std::vector<size_t> take_ready();
  // The end of a running step.
  void finish(size_t step, bool passed);
  // Nothing is waiting or running.
  bool done() const;
  // Some step failed (cancelled ones do not count: their cause does).
  bool failed() const;

  size_t size() const { return steps_.size(); }
  const GraphStep& step(size_t i) const { return steps_[i]; }
  StepState state(size_t i) const { return states_[i]; }
  // Why a step was skipped or cancelled.
  const std::string& why(size_t i) const { return why_[i]; }
  // Indices of its dependencies (with the implicit ones of failure/always steps).
  const std::vector<size_t>& dependencies(size_t i) const { return deps_[i]; }
  // An order that respects every dependency (file order where free), for plans and reports.
  std::vector<size_t> topological_order() const;

 private:
  std::vector<GraphStep> steps_;
  std::vector<std::vector<size_t>> deps_;
  std::vector<StepState> states_;
  std::vector<std::string> why_;
};

}  // namespace slipway::pipeline
