// The list form of `steps:`: named steps of any type with depends_on, when, retry, network and
// workdir; the implicit build step and dependencies; one-line FILE:LINE errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pipeline/pipeline_file.h"

namespace slipway::pipeline {
namespace {

using ::testing::StartsWith;

Result<PipelineSpec> parse(const std::string& text) { return parse_pipeline_file(text, ".slipway.yml"); }

std::string error_of(const std::string& text) {
  auto spec = parse(text);
  EXPECT_FALSE(spec) << "parsed:\n" << text;
  return spec ? "" : spec.error().message();
}

// Line numbers below refer to this text.
constexpr const char* kList = R"(app: {name: web, port: 8080}
services:
  dev: {services: [{name: redis, image: slipway/redis, port: 6379}]}
environments: {testing: {}, staging: {push: true}}
steps:
  - name: lint
    image: python:3
    commands: flake8 .
    depends_on: []
  - name: test
    image: python:3
    commands:
      - pip install -e .
      - python3 -m unittest -v
    environment: {PYTHONDONTWRITEBYTECODE: 1, REF: "${CI_COMMIT_SHORT_SHA}"}
    services: dev
    depends_on: lint
    retry: 2
    timeout: 90
    workdir: /workspace/lib
  - name: unit
    type: unit
    commands: [sh test/unit.sh]
    depends_on: [lint]
  - name: notify
    image: busybox
    commands: echo failed
    when: {status: failure, branch: [main, "release/*"], environment: staging, event: [push, watch]}
    network: none
)";

TEST(PipelineStepListTest, StepsOfAnyTypeWithTheirFields) {
  auto parsed = parse(kList);
  ASSERT_TRUE(parsed) << parsed.error().message();
  const PipelineSpec& spec = *parsed;
  std::vector<std::string> names;
  for (const auto& s : spec.steps) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"build", "lint", "test", "unit", "notify"}))
      << "the app's build step comes first, implicitly";

  const StepSpec& lint = *spec.step("lint");
  EXPECT_EQ(lint.type, StepType::kCommands);
  EXPECT_EQ(lint.line, 6);
  EXPECT_EQ(lint.commands, (std::vector<std::string>{"flake8 ."}));
  EXPECT_TRUE(lint.depends_on.empty()) << "depends_on: [] starts at once";

  const StepSpec& test = *spec.step("test");
  EXPECT_EQ(test.commands, (std::vector<std::string>{"pip install -e .", "python3 -m unittest -v"}));
  EXPECT_EQ(test.env.at("PYTHONDONTWRITEBYTECODE"), "1");
  EXPECT_EQ(test.env.at("REF"), "${CI_COMMIT_SHORT_SHA}") << "replaced when a run is planned";
  EXPECT_EQ(test.services, "dev");
  EXPECT_EQ(test.depends_on, (std::vector<std::string>{"lint"}));
  EXPECT_EQ(test.retry, 2);
  EXPECT_EQ(test.timeout_seconds, 90);
  EXPECT_EQ(test.workdir, "/workspace/lib");

  const StepSpec& unit = *spec.step("unit");
  EXPECT_EQ(unit.type, StepType::kUnit);
  EXPECT_EQ(unit.depends_on, (std::vector<std::string>{"lint", "build"})) << "it tests the app image";
  EXPECT_EQ(unit.services, "dev") << "the seed's default";

  const StepSpec& notify = *spec.step("notify");
  EXPECT_EQ(notify.when.status, WhenStatus::kFailure);
  EXPECT_EQ(notify.when.branches, (std::vector<std::string>{"main", "release/*"}));
  EXPECT_EQ(notify.when.environments, (std::vector<std::string>{"staging"}));
  EXPECT_EQ(notify.when.events, (std::vector<std::string>{"push", "watch"}));
  EXPECT_EQ(notify.network, "none");
  EXPECT_TRUE(notify.depends_on.empty()) << "a failure step without depends_on follows every main step";
}

TEST(PipelineStepListTest, WithoutDependsOnStepsRunInTheOrderWritten) {
  auto spec = parse(
      "steps:\n"
      "  - {name: a, image: busybox, commands: [true]}\n"
      "  - {name: always, image: busybox, commands: [true], when: {status: [success, failure]}}\n"
      "  - {name: b, image: busybox, commands: [true]}\n");
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_EQ(spec->steps.size(), 3u) << "no app: no build step";
  EXPECT_TRUE(spec->step("a")->depends_on.empty());
  EXPECT_EQ(spec->step("b")->depends_on, (std::vector<std::string>{"a"}));
  EXPECT_EQ(spec->step("always")->when.status, WhenStatus::kAlways);
  EXPECT_TRUE(spec->step("always")->depends_on.empty());
}

TEST(PipelineStepListTest, AnAppImageStepFollowsAnExplicitBuildStep) {
  auto spec = parse(
      "app: {name: web}\n"
      "steps:\n"
      "  - {name: image, type: build, depends_on: []}\n"
      "  - {name: smoke, image: app, commands: [web --version], depends_on: []}\n");
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_EQ(spec->steps.size(), 2u);
  EXPECT_EQ(spec->step("smoke")->depends_on, (std::vector<std::string>{"image"}));
}

struct ErrorCase {
  const char* text;
  const char* expected;
};

TEST(PipelineStepListTest, ErrorsNameFileLineAndStep) {
  const ErrorCase cases[] = {
      {"steps:\n  - {image: busybox, commands: [x]}\n", ".slipway.yml:2: steps[0].name is required"},
      {"steps:\n  - {name: a, type: script}\n",
       ".slipway.yml:2: steps[0].type: want commands, build, unit, integration, deploy, live or push"},
      {"steps:\n  - {name: a, commands: [x]}\n", ".slipway.yml:2: steps.a.image is required"},
      {"steps:\n  - {name: a, image: busybox}\n", ".slipway.yml:2: steps.a.commands is required"},
      {"steps:\n  - name: a\n    image: busybox\n    comands: [x]\n",
       ".slipway.yml:4: unknown key \"comands\" in steps[0]"},
      {"app: {name: w, port: 1}\nservices: {p: {network: p}}\nsteps:\n  - name: d\n    type: deploy\n"
       "    services: p\n    commands: [x]\n",
       ".slipway.yml:7: steps.d: a step of type deploy has no commands"},
      {"steps:\n  - {name: a, image: busybox, commands: [x]}\n  - {name: a, image: busybox, commands: [y]}\n",
       ".slipway.yml:3: steps[1]: duplicate step name \"a\" (first at line 2)"},
      {"steps:\n  - {name: checkout, image: busybox, commands: [x]}\n",
       ".slipway.yml:2: steps[0]: \"checkout\" names the step every run starts with"},
      {"steps:\n  - {name: a, image: busybox, commands: [x], depends_on: b}\n",
       ".slipway.yml:2: steps.a.depends_on: no step named \"b\""},
      {"steps:\n  - {name: a, image: busybox, commands: [x], depends_on: a}\n",
       ".slipway.yml:2: steps.a.depends_on: a step cannot depend on itself"},
      {"steps:\n  - {name: a, image: busybox, commands: [x], depends_on: b}\n"
       "  - {name: b, image: busybox, commands: [x], depends_on: a}\n",
       ".slipway.yml:1: steps depend on each other in a cycle: a -> b -> a"},
      {"app: {name: w}\nsteps:\n  - {name: build, image: busybox, commands: [x]}\n",
       ".slipway.yml:3: steps.build: \"build\" names the app's build step"},
      {"app: {name: w}\nsteps:\n  - {name: p, type: push}\n",
       ".slipway.yml:3: steps.p: a push step needs the push section"},
      {"app: {name: w}\npush: {registry: r}\nsteps:\n  - {name: a, image: busybox, commands: [x]}\n",
       ".slipway.yml:2: push: no step has type push"},
      {"steps:\n  - {name: t, type: unit, command: [x]}\n",
       ".slipway.yml:2: steps.t uses the app image, and the file has no app section"},
      {"steps:\n  - {name: t, image: app, commands: [x]}\n",
       ".slipway.yml:2: steps.t uses the app image"},
      {"app: {name: w}\nsteps:\n  - {name: t, type: unit}\n",
       ".slipway.yml:3: steps.t needs commands or command (one of them)"},
      {"app: {name: w}\nsteps:\n  - {name: t, type: live, command: [x]}\n",
       ".slipway.yml:3: steps.t tests the deployed app and needs a deploy step"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [\"echo ${CI_COMIT_SHA}\"]\n",
       ".slipway.yml:4: steps.a.commands: undefined variable ${CI_COMIT_SHA}"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    environment: {A: \"${\"}\n",
       ".slipway.yml:5: steps.a.environment: unterminated ${"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    environment: {1A: b}\n",
       ".slipway.yml:5: steps.a.environment: invalid variable name \"1A\""},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    when: {event: tag}\n",
       ".slipway.yml:5: steps.a.when.event: unknown event \"tag\": want push, manual or watch"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    when: {environment: prod}\n",
       ".slipway.yml:5: steps.a.when.environment: no environment named \"prod\""},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    when: {status: sometimes}\n",
       ".slipway.yml:5: steps.a.when.status: want success, failure or always"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    retry: -1\n",
       ".slipway.yml:5: steps.a.retry: want a whole number >= 1"},
      {"steps:\n  - name: a\n    image: busybox\n    commands: [x]\n    workdir: src\n",
       ".slipway.yml:5: steps.a.workdir: want an absolute path"},
      {"services: {dev: {}}\nsteps:\n  - name: a\n    image: busybox\n    commands: [x]\n"
       "    services: dev\n    network: none\n",
       ".slipway.yml:3: steps.a: network and services both choose its network"},
      {"steps:\n  - {name: a, image: busybox, commands: [x], network: \"bad net\"}\n",
       ".slipway.yml:2: steps.a.network: "},
      {"steps:\n  - {name: a, image: \"Bad Image\", commands: [x]}\n",
       ".slipway.yml:2: steps.a.image: invalid image reference"},
      {"steps:\n  - {name: a, image: busybox, commands: [x], services: db}\n",
       ".slipway.yml:2: steps.a.services: no service set named \"db\" (defined: none)"},
      {"steps: {}\n", ".slipway.yml:1: app is required"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    std::string message = error_of(c.text);
    EXPECT_THAT(message, StartsWith(c.expected));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace slipway::pipeline
