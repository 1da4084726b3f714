// A pipeline file planned for one run: CI variables and ${NAME}s, images, networks, `when`, the
// echoed script, and the listing `pipeline plan` prints.
#include "pipeline/pipeline_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/pipeline_file.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kFile = R"(app: {name: web}
services:
  db: {network: dbnet, services: [{name: pg, image: postgres, port: 5432}]}
environments: {testing: {}, staging: {push: true}}
push: {registry: "127.0.0.1:5000"}
steps:
  - name: test
    image: "python:${CI_COMMIT_SHORT_SHA}"
    commands: ["echo ${CI_JOB_NAME} $HOME"]
    environment: {REF: "sha-${CI_COMMIT_SHA}", CI_PROJECT_NAME: mine}
    services: db
  - name: docs
    image: busybox
    commands: [true]
    when: {branch: "release/*"}
  - name: nightly
    image: busybox
    commands: [true]
    when: {event: watch}
  - name: smoke
    image: app
    commands: [web --version]
    network: none
  - {name: publish, type: push}
)";

PlanContext context(const std::string& branch = "main", const std::string& environment = "testing") {
  PlanContext c;
  c.facts.commit = {.sha = "0123456789abcdef0123456789abcdef01234567",
                    .branch = branch,
                    .tag = "",
                    .message = "fix it",
                    .timestamp = 0};
  c.facts.pipeline_id = "run-1";
  c.facts.project = "web";
  c.facts.environment = environment;
  c.environment_pushes = environment == "staging";
  c.app_image = "web:0123456789abcdef0123456789abcdef01234567";
  return c;
}

struct Planned {
  PipelineSpec spec;
  PipelinePlan plan;
  const PlannedStep& step(const std::string& name) const {
    for (const auto& s : plan.steps)
      if (s.spec->name == name) return s;
    throw std::runtime_error("no step " + name);
  }
};

Planned plan(const PlanContext& c, const std::string& text = kFile) {
  Planned p;
  auto spec = parse_pipeline_file(text, ".slipway.yml");
  EXPECT_TRUE(spec) << spec.error().message();
  p.spec = std::move(*spec);
  auto planned = plan_pipeline(p.spec, c);
  EXPECT_TRUE(planned) << planned.error().message();
  if (planned) p.plan = std::move(*planned);
  return p;
}

TEST(PipelinePlanTest, VariablesAreReplacedAndPassedOn) {
  Planned p = plan(context());
  const PlannedStep& test = p.step("test");
  EXPECT_EQ(test.image, "python:01234567");
  EXPECT_EQ(test.commands, (std::vector<std::string>{"echo test $HOME"})) << "$HOME is the shell's";
  EXPECT_THAT(test.env, Contains("CI=true"));
  EXPECT_THAT(test.env, Contains("CI_COMMIT_BRANCH=main"));
  EXPECT_THAT(test.env, Contains("CI_JOB_NAME=test"));
  EXPECT_THAT(test.env, Contains("CI_PIPELINE_ID=run-1"));
  EXPECT_EQ(test.env.back(), "REF=sha-0123456789abcdef0123456789abcdef01234567");
  // The step's own come last, so `run -e` lets them win over a CI variable of the same name.
  EXPECT_EQ(test.env[test.env.size() - 2], "CI_PROJECT_NAME=mine");
  EXPECT_EQ(test.network, "dbnet") << "the service set's network";
  EXPECT_EQ(test.workdir, "/workspace");
  EXPECT_EQ(p.step("smoke").image, "web:0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(p.step("smoke").network, "none");
  EXPECT_EQ(p.step("docs").network, "default") << "Docker's default bridge, with egress";
}

TEST(PipelinePlanTest, WhenDecidesWhichStepsRun) {
  Planned main = plan(context("main"));
  EXPECT_TRUE(main.step("test").enabled);
  EXPECT_FALSE(main.step("docs").enabled);
  EXPECT_EQ(main.step("docs").skip_reason, "branch main does not match its when.branch");
  EXPECT_FALSE(main.step("nightly").enabled);
  EXPECT_EQ(main.step("nightly").skip_reason, "event manual is not in its when.event");
  EXPECT_FALSE(main.step("publish").enabled);
  EXPECT_EQ(main.step("publish").skip_reason, "testing does not push");

  Planned release = plan(context("release/1.2", "staging"));
  EXPECT_TRUE(release.step("docs").enabled);
  EXPECT_TRUE(release.step("publish").enabled);
  PlanContext watch = context();
  watch.event = "watch";
  EXPECT_TRUE(plan(watch).step("nightly").enabled);
}

TEST(PipelinePlanTest, ATagRunDefinesTheTagAndNoBranch) {
  PlanContext c = context("");
  c.facts.commit.tag = "v1.0";
  std::string text =
      "steps:\n  - name: a\n    image: busybox\n    commands: [\"echo ${CI_COMMIT_TAG}\"]\n"
      "  - name: b\n    image: busybox\n    commands: [\"echo ${CI_COMMIT_BRANCH}\"]\n";
  auto spec = parse_pipeline_file(text, ".slipway.yml");
  ASSERT_TRUE(spec) << spec.error().message();
  auto planned = plan_pipeline(*spec, c);
  ASSERT_FALSE(planned) << "CI_COMMIT_BRANCH is not defined for a tag, as on GitLab";
  EXPECT_THAT(planned.error().message(),
              StartsWith(".slipway.yml:5: steps.b.commands: undefined variable ${CI_COMMIT_BRANCH}"));
}

TEST(PipelinePlanTest, TheScriptEchoesEachCommandAndStopsAtTheFirstFailure) {
  std::string script = command_script({"echo one", "echo 'two' && false", "echo three"});
  auto r = testing::run_command({"/bin/sh", "-e", "-c", script});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "$ echo one\none\n$ echo 'two' && false\ntwo\n");
}

TEST(PipelinePlanTest, TheListingShowsOrderImagesAndConditions) {
  std::string text = describe_plan(plan(context()).plan);
  EXPECT_THAT(text, StartsWith("build (build)\n"));
  EXPECT_THAT(text, HasSubstr("test (commands)\n  after:    build\n  image:    python:01234567\n"));
  EXPECT_THAT(text, HasSubstr("  $ echo test $HOME\n"));
  EXPECT_THAT(text, HasSubstr("  env:      CI_PROJECT_NAME=mine\n  env:      REF=sha-0123"));
  EXPECT_THAT(text, HasSubstr("docs (commands): skipped, branch main does not match its when.branch\n"));
  EXPECT_THAT(text, HasSubstr("publish (push): skipped, testing does not push\n"));
}

}  // namespace
}  // namespace slipway::pipeline
