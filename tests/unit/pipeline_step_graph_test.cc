// pipeline/step_graph.h: depends_on, `when: status:` and what runs when, without containers.
#include <gtest/gtest.h>

#include "pipeline/step_graph.h"

namespace slipway::pipeline {
namespace {

GraphStep step(std::string name, std::vector<std::string> deps = {}, WhenStatus when = WhenStatus::kSuccess,
               bool enabled = true) {
  return {std::move(name), std::move(deps), when, enabled};
}

std::vector<std::string> names(const StepGraph& g, const std::vector<size_t>& idx) {
  std::vector<std::string> out;
  for (size_t i : idx) out.push_back(g.step(i).name);
  return out;
}

using Names = std::vector<std::string>;

TEST(StepGraph, IndependentStepsAreReadyTogetherAndDependentsFollow) {
  auto g = StepGraph::build({step("build"), step("lint"), step("unit", {"build"}), step("docs"),
                             step("publish", {"unit", "lint"})});
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"build", "lint", "docs"}));
  EXPECT_TRUE(g->take_ready().empty()) << "running steps are not handed out twice";
  g->finish(0, true);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"unit"}));
  g->finish(2, true);
  EXPECT_TRUE(g->take_ready().empty()) << "publish still needs lint";
  g->finish(1, true);
  g->finish(3, true);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"publish"}));
  g->finish(4, true);
  EXPECT_TRUE(g->done());
  EXPECT_FALSE(g->failed());
}

TEST(StepGraph, AFailureCancelsWhatNeedsItAndStartsTheFailureFollowUps) {
  auto g = StepGraph::build({step("unit"), step("deploy", {"unit"}), step("live", {"deploy"}),
                             step("collect-logs", {}, WhenStatus::kFailure),
                             step("notify", {}, WhenStatus::kAlways), step("unrelated")});
  ASSERT_TRUE(g);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"unit", "unrelated"}));
  g->finish(0, false);
  EXPECT_TRUE(g->take_ready().empty()) << "the follow-ups wait for every main step";
  EXPECT_EQ(g->state(1), StepState::kCancelled);
  EXPECT_EQ(g->why(1), "unit failed");
  EXPECT_EQ(g->state(2), StepState::kCancelled);
  EXPECT_EQ(g->why(2), "unit failed") << "the cause, not the cancelled step between";
  g->finish(5, true);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"collect-logs", "notify"}));
  g->finish(3, true);
  g->finish(4, true);
  EXPECT_TRUE(g->done());
  EXPECT_TRUE(g->failed());
}

TEST(StepGraph, FailureFollowUpsAreSkippedWhenAllPassesAndDisabledStepsCountAsDone) {
  auto g = StepGraph::build({step("unit"), step("deploy", {"unit"}, WhenStatus::kSuccess, false),
                             step("live", {"deploy"}), step("on-failure", {"unit"}, WhenStatus::kFailure)});
  ASSERT_TRUE(g);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"unit"}));
  g->finish(0, true);
  EXPECT_EQ(names(*g, g->take_ready()), (Names{"live"}));
  EXPECT_EQ(g->state(1), StepState::kSkipped);
  EXPECT_EQ(g->why(1), "its when does not hold");
  EXPECT_EQ(g->state(3), StepState::kSkipped);
  EXPECT_EQ(g->why(3), "nothing before it failed");
  g->finish(2, true);
  EXPECT_TRUE(g->done());
}

TEST(StepGraph, BadGraphsNameTheSteps) {
  EXPECT_EQ(StepGraph::build({step("a"), step("a")}).error().message(), "step a is defined twice");
  EXPECT_EQ(StepGraph::build({step("a", {"b"})}).error().message(), "step a depends on b, which is not a step");
  EXPECT_EQ(StepGraph::build({step("a", {"a"})}).error().message(), "step a depends on itself");
  EXPECT_EQ(StepGraph::build({step("a", {"c"}), step("b", {"a"}), step("c", {"b"})}).error().message(),
            "steps depend on each other in a cycle: a -> c -> b -> a");
}

TEST(StepGraph, TopologicalOrderKeepsFileOrderWhereItCan) {
  auto g = StepGraph::build({step("test", {"build"}), step("build"), step("lint"), step("report", {}, WhenStatus::kAlways)});
  ASSERT_TRUE(g);
  EXPECT_EQ(names(*g, g->topological_order()), (Names{"build", "test", "lint", "report"}));
}

}  // namespace
}  // namespace slipway::pipeline
