#include "pipeline/step_graph.h"

#include <algorithm>
#include <map>

namespace slipway::pipeline {
namespace {

bool finished(StepState s) {
  return s == StepState::kPassed || s == StepState::kFailed || s == StepState::kSkipped ||
         s == StepState::kCancelled;
}

bool bad(StepState s) { return s == StepState::kFailed || s == StepState::kCancelled; }

// A cycle through `at`, as "a -> b -> a", if the graph has one reachable from it.
bool find_cycle(size_t at, const std::vector<std::vector<size_t>>& deps, std::vector<int>& color,
                std::vector<size_t>& path, const std::vector<GraphStep>& steps, std::string& out) {
  color[at] = 1;
  path.push_back(at);
  for (size_t d : deps[at]) {
    if (color[d] == 1) {
      auto from = std::find(path.begin(), path.end(), d);
      for (auto it = from; it != path.end(); ++it) out += steps[*it].name + " -> ";
      out += steps[d].name;
      return true;
    }
    if (color[d] == 0 && find_cycle(d, deps, color, path, steps, out)) return true;
  }
  path.pop_back();
  color[at] = 2;
  return false;
}

}  // namespace

Result<StepGraph> StepGraph::build(std::vector<GraphStep> steps) {
  StepGraph g;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i)
    if (!index.emplace(steps[i].name, i).second) return fail("step {} is defined twice", steps[i].name);
  g.deps_.resize(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    const GraphStep& s = steps[i];
    for (const auto& d : s.depends_on) {
      auto it = index.find(d);
      if (it == index.end()) return fail("step {} depends on {}, which is not a step", s.name, d);
      if (it->second == i) return fail("step {} depends on itself", s.name);
      if (std::find(g.deps_[i].begin(), g.deps_[i].end(), it->second) == g.deps_[i].end())
        g.deps_[i].push_back(it->second);
    }
    // A follow-up without depends_on follows the whole pipeline's main steps.
    if (s.depends_on.empty() && s.when_status != WhenStatus::kSuccess)
      for (size_t j = 0; j < steps.size(); ++j)
        if (steps[j].when_status == WhenStatus::kSuccess) g.deps_[i].push_back(j);
  }
  std::vector<int> color(steps.size(), 0);
  for (size_t i = 0; i < steps.size(); ++i) {
    std::vector<size_t> path;
    std::string cycle;
    if (color[i] == 0 && find_cycle(i, g.deps_, color, path, steps, cycle))
      return fail("steps depend on each other in a cycle: {}", cycle);
  }
  g.steps_ = std::move(steps);
  g.states_.assign(g.steps_.size(), StepState::kWaiting);
  g.why_.assign(g.steps_.size(), "");
  return g;
}

std::vector<size_t> StepGraph::take_ready() {
  // Deciding one step may decide those after it (a cancel travels down): repeat until still.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (states_[i] != StepState::kWaiting) continue;
      const auto& deps = deps_[i];
      if (!std::all_of(deps.begin(), deps.end(), [&](size_t d) { return finished(states_[d]); })) continue;
      const GraphStep& s = steps_[i];
      if (!s.enabled) {
        states_[i] = StepState::kSkipped;
        why_[i] = "its when does not hold";
        changed = true;
        continue;
      }
      auto failed_dep = std::find_if(deps.begin(), deps.end(), [&](size_t d) { return bad(states_[d]); });
      if (s.when_status == WhenStatus::kSuccess && failed_dep != deps.end()) {
        states_[i] = StepState::kCancelled;
        // The cause, not the cancelled step in between: "unit failed" all the way down.
        why_[i] = states_[*failed_dep] == StepState::kCancelled ? why_[*failed_dep]
                                                                : steps_[*failed_dep].name + " failed";
        changed = true;
      } else if (s.when_status == WhenStatus::kFailure && failed_dep == deps.end()) {
        states_[i] = StepState::kSkipped;
        why_[i] = "nothing before it failed";
        changed = true;
      }
    }
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (states_[i] != StepState::kWaiting) continue;
    const auto& deps = deps_[i];
    if (std::all_of(deps.begin(), deps.end(), [&](size_t d) { return finished(states_[d]); })) {
      states_[i] = StepState::kRunning;
      ready.push_back(i);
    }
  }
  return ready;
}

void StepGraph::finish(size_t step, bool passed) {
  if (states_[step] == StepState::kRunning) states_[step] = passed ? StepState::kPassed : StepState::kFailed;
}

bool StepGraph::done() const {
  return std::all_of(states_.begin(), states_.end(), [](StepState s) { return finished(s); });
}

bool StepGraph::failed() const {
  return std::any_of(states_.begin(), states_.end(), [](StepState s) { return s == StepState::kFailed; });
}

std::vector<size_t> StepGraph::topological_order() const {
  std::vector<size_t> order;
  std::vector<bool> placed(steps_.size(), false);
  while (order.size() < steps_.size()) {
    for (size_t i = 0; i < steps_.size(); ++i) {
      if (placed[i]) continue;
      if (std::all_of(deps_[i].begin(), deps_[i].end(), [&](size_t d) { return placed[d]; })) {
        placed[i] = true;
        order.push_back(i);
        break;  // back to the first free step: file order wherever it is allowed
      }
    }
  }
  return order;
}

}  // namespace slipway::pipeline
