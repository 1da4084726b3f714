// The pipeline engine on the in-memory backend (tests/support/fake_backend.h), without root: the
// order of steps, skipping after a failure, one image per commit, the networkholder, the deploy
// swap and its readiness failure, pushing per environment, and interrupts. The checkout is real
// (a local git repository); nothing else leaves the process.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "pipeline/pipeline_engine.h"
#include "tests/support/engine_fixture.h"
#include "tests/support/fake_backend.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

namespace stdfs = std::filesystem;
using slipway::testing::FakeBackend;
using slipway::testing::TempDir;

constexpr const char* kPipelineFile = R"(app:
  name: smoke
  port: 8080
  ready: {http: /healthz, timeout: 5}
  build_args: {VERSION: "1.0"}
services:
  dev:
    network: host
    services:
      - {name: redis, image: slipway/redis, port: 6379}
  prodlike:
    network: prodnet
    services:
      - {name: db, image: slipway/redis, port: 6379}
steps:
  unit: {command: 'unit-tests'}
  integration: {command: 'integration-tests'}
  deploy: {services: prodlike}
  live: {command: 'live-tests'}
push:
  registry: registry.test:5000
  tags: [staging]
)";

class PipelineEngineTest : public slipway::testing::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    backend_.images = {"slipway/redis"};
  }
  std::string commit(const std::string& pipeline_file = kPipelineFile, const std::string& page = "v1") {
    return EngineFixture::commit(pipeline_file, page);
  }
};

TEST_F(PipelineEngineTest, AGreenRunRunsEveryStepInOrderAndWritesItsReports) {
  std::string commit_id = commit();
  auto o = run();
  EXPECT_TRUE(o.record.passed);
  EXPECT_TRUE(o.record.finished);
  std::vector<std::string> names;
  for (const auto& s : o.record.steps) names.push_back(s.name + ":" + std::string(to_string(s.status)));
  EXPECT_EQ(names, (std::vector<std::string>{"checkout:passed", "build:passed", "unit:passed", "integration:passed",
                                             "deploy:passed", "live:passed", "push:skipped"}));
  EXPECT_EQ(step(o, "push").message, "testing does not push");
  EXPECT_EQ(o.record.image, "smoke:" + commit_id);
  // One build, of the checkout, with the commit's time for reproducible layers.
  ASSERT_EQ(backend_.builds.size(), 1u);
  const BuildRequest& b = backend_.builds[0];
  EXPECT_EQ(b.image, "smoke:" + commit_id);
  EXPECT_EQ(b.build_args, (std::map<std::string, std::string>{{"VERSION", "1.0"}}));
  EXPECT_EQ(stdfs::path(b.dockerfile).filename(), "Dockerfile");
  std::string commit_time = git({"show", "-s", "--format=%ct", "HEAD"}).out;
  EXPECT_EQ(std::to_string(b.source_date_epoch) + "\n", commit_time);
  // The reports are written, and the checkout is gone once the run ends.
  for (auto f : {"summary.json", "junit.xml", "report.html", "unit.log", "deploy.log"})
    EXPECT_TRUE(stdfs::exists(o.run_dir + "/" + f)) << f;
  EXPECT_FALSE(stdfs::exists(o.run_dir + "/workspace"));
  auto summary = nlohmann::json::parse(std::ifstream(o.run_dir + "/summary.json"));
  EXPECT_EQ(summary["passed"], true);
  EXPECT_EQ(summary["commit"], commit_id);
}

TEST_F(PipelineEngineTest, UnitTestsRunOnTheHostNetworkWithTheDevServicesUp) {
  commit();
  run();
  auto starts = events("start -d ");
  ASSERT_FALSE(starts.empty());
  EXPECT_EQ(starts[0], "start -d redis");
  const RunOptions& unit = backend_.started.at(1);
  EXPECT_TRUE(unit.name.ends_with("-unit")) << unit.name;
  EXPECT_EQ(unit.net, "host");
  EXPECT_EQ(unit.command, (std::vector<std::string>{"/bin/sh", "-c", "unit-tests"}));
  EXPECT_EQ(unit.timeout_seconds, 600);
}

TEST_F(PipelineEngineTest, AFailedStepFailsTheRunAndSkipsTheRest) {
  commit();
  backend_.on_run = [](const RunOptions& o) { return o.name.ends_with("-unit") ? 3 : 0; };
  auto o = run();
  EXPECT_FALSE(o.record.passed);
  EXPECT_EQ(to_string(step(o, "unit").status), "failed");
  EXPECT_EQ(step(o, "unit").exit_code, 3);
  EXPECT_EQ(step(o, "unit").message, "unit tests exited with 3");
  for (auto name : {"integration", "deploy", "live"}) {
    EXPECT_EQ(to_string(step(o, name).status), "skipped") << name;
    EXPECT_EQ(step(o, name).message, "unit failed") << name;
  }
  EXPECT_EQ(step(o, "push").message, "testing does not push");
  EXPECT_TRUE(events("start -d smoke-testing-").empty()) << "deploy must not run";
}

TEST_F(PipelineEngineTest, AFailedBuildRunsNoTests) {
  commit();
  backend_.on_build = [](const BuildRequest&) { return 1; };
  auto o = run();
  EXPECT_EQ(to_string(step(o, "build").status), "failed");
  EXPECT_EQ(step(o, "build").message, "build of " + o.record.image + " exited with 1");
  EXPECT_TRUE(events("run ").empty());
}

TEST_F(PipelineEngineTest, OneCommitIsBuiltOnceAndItsImageReused) {
  commit();
  auto first = run();
  auto second = run();
  EXPECT_TRUE(second.record.passed);
  EXPECT_EQ(backend_.builds.size(), 1u);
  EXPECT_EQ(step(second, "build").message, second.record.image + " exists: reused");
}

TEST_F(PipelineEngineTest, IntegrationTestsShareTheHoldersLocalhostWithTheApp) {
  commit();
  run();
  auto find = [&](const std::string& suffix) {
    for (const auto& o : backend_.started)
      if (o.name.ends_with(suffix)) return o;
    ADD_FAILURE() << "no container " << suffix;
    return RunOptions{};
  };
  RunOptions holder = find("-integration-holder"), app = find("-integration-app"), tests = find("-integration");
  EXPECT_EQ(holder.net, "none");
  // The dev services' ports reach the host from the holder's localhost.
  EXPECT_EQ(holder.forwards, (std::vector<std::string>{"127.0.0.1:6379=127.0.0.1:6379"}));
  EXPECT_EQ(app.net, "container:" + holder.name);
  EXPECT_EQ(tests.net, "container:" + holder.name);
  // The app is probed from the holder's namespace before the tests start; both go afterwards.
  auto order = backend_.events;
  auto at = [&](const std::string& e) { return std::find(order.begin(), order.end(), e) - order.begin(); };
  EXPECT_LT(at("probe " + app.name), at("run " + tests.name));
  EXPECT_LT(at("run " + tests.name), at("remove " + app.name));
  EXPECT_LT(at("remove " + app.name), at("remove " + holder.name));
  EXPECT_FALSE(backend_.containers.count(holder.name));
}

TEST_F(PipelineEngineTest, AnAppThatNeverGetsReadyFailsIntegrationAndLeavesNoContainer) {
  commit();
  backend_.serves = [](const FakeBackend::ContainerInfo& c, const std::string&) {
    return !c.name.ends_with("-app");
  };
  auto o = run();
  EXPECT_EQ(to_string(step(o, "integration").status), "failed");
  EXPECT_NE(step(o, "integration").message.find("app: not ready"), std::string::npos)
      << step(o, "integration").message;
  for (const auto& [name, c] : backend_.containers)
    EXPECT_FALSE(name.ends_with("-app") || name.ends_with("-holder")) << name;
}

TEST_F(PipelineEngineTest, AServiceWithAHealthcheckIsWaitedForUntilHealthy) {
  std::string file = kPipelineFile;
  std::string plain = "      - {name: redis, image: slipway/redis, port: 6379}";
  file.replace(file.find(plain), plain.size(),
               "      - {name: redis, image: slipway/redis, port: 6379,\n"
               "         healthcheck: {test: redis-cli ping, interval: 0.2}}");
  commit(file);
  auto o = run();
  EXPECT_TRUE(o.record.passed);
  auto waits = events("wait healthy");
  ASSERT_FALSE(waits.empty());
  EXPECT_EQ(waits.front(), "wait healthy redis");
  bool flagged = std::any_of(backend_.started.begin(), backend_.started.end(), [](const RunOptions& r) {
    return r.name == "redis" && r.health_cmd == "redis-cli ping" && r.health_interval == "200ms";
  });
  EXPECT_TRUE(flagged);

  backend_.containers.clear();
  backend_.health = [](const FakeBackend::ContainerInfo&) { return std::string("unhealthy"); };
  commit(file, "v2");
  auto bad = run();
  EXPECT_FALSE(bad.record.passed);
  EXPECT_NE(step(bad, "unit").message.find("service redis: health check failed"), std::string::npos)
      << step(bad, "unit").message;
}

TEST_F(PipelineEngineTest, DeployMovesTheServiceNameToTheNewBuildAndRemovesTheOld) {
  commit();
  run();
  auto deployed = [&] {
    std::vector<FakeBackend::ContainerInfo> out;
    for (const auto& [name, c] : backend_.containers)
      if (name.starts_with("smoke-testing-")) out.push_back(c);
    return out;
  };
  auto first = deployed();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].network, "prodnet");
  EXPECT_EQ(first[0].dns_names, (std::vector<std::string>{first[0].name, "smoke"}));

  commit(kPipelineFile, "v2");
  backend_.events.clear();
  auto o = run();
  EXPECT_TRUE(o.record.passed);
  auto second = deployed();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0].name, first[0].name);
  EXPECT_EQ(second[0].dns_names, (std::vector<std::string>{second[0].name, "smoke"}));
  // The new one is ready and named before the old one goes: no moment without the service.
  auto order = backend_.events;
  auto at = [&](const std::string& e) { return std::find(order.begin(), order.end(), e) - order.begin(); };
  EXPECT_LT(at("probe " + second[0].name), at("names " + second[0].name + " " + second[0].name + ",smoke"));
  EXPECT_LT(at("names " + second[0].name + " " + second[0].name + ",smoke"), at("remove " + first[0].name));
  EXPECT_NE(step(o, "deploy").message.find("smoke at " + second[0].ip), std::string::npos);
  // Fresh data: the prodlike services were restarted for the deploy only if they have snapshots.
  EXPECT_TRUE(backend_.containers.count("db"));
}

TEST_F(PipelineEngineTest, ANewBuildThatNeverGetsReadyLeavesThePreviousOneServing) {
  commit();
  run();
  std::string old_name;
  for (const auto& [name, c] : backend_.containers)
    if (name.starts_with("smoke-testing-")) old_name = name;
  ASSERT_FALSE(old_name.empty());

  commit(kPipelineFile, "broken");
  backend_.serves = [&](const FakeBackend::ContainerInfo& c, const std::string&) {
    return !c.name.starts_with("smoke-testing-") || c.name == old_name;
  };
  auto o = run();
  EXPECT_FALSE(o.record.passed);
  const StepRecord& deploy = step(o, "deploy");
  EXPECT_EQ(to_string(deploy.status), "failed");
  EXPECT_NE(deploy.message.find("never got ready, the previous one keeps serving"), std::string::npos)
      << deploy.message;
  EXPECT_EQ(to_string(step(o, "live").status), "skipped");
  std::vector<std::string> deployed;
  for (const auto& [name, c] : backend_.containers)
    if (name.starts_with("smoke-testing-")) deployed.push_back(name);
  EXPECT_EQ(deployed, std::vector<std::string>{old_name});
  EXPECT_EQ(backend_.containers.at(old_name).dns_names, (std::vector<std::string>{old_name, "smoke"}));
}

TEST_F(PipelineEngineTest, ThePullPolicyReachesEveryContainerAndTheBuild) {
  commit(std::string(kPipelineFile) + "pull: always\n");
  auto o = run();
  EXPECT_TRUE(o.record.passed);
  ASSERT_EQ(backend_.builds.size(), 1u);
  EXPECT_EQ(backend_.builds[0].pull, "always");
  ASSERT_FALSE(backend_.started.empty());
  for (const auto& c : backend_.started) EXPECT_EQ(c.pull, "always") << c.name;
}

TEST_F(PipelineEngineTest, StagingPushesTheCommitAndItsTags) {
  std::string commit_id = commit();
  auto o = run("staging");
  EXPECT_TRUE(o.record.passed);
  EXPECT_EQ(to_string(step(o, "push").status), "passed");
  EXPECT_EQ(events("push "), (std::vector<std::string>{"push registry.test:5000/smoke:" + commit_id,
                                                      "push registry.test:5000/smoke:staging"}));
}

TEST_F(PipelineEngineTest, AnUnknownEnvironmentFailsTheCheckoutStep) {
  commit();
  auto o = run("production");
  EXPECT_FALSE(o.record.passed);
  EXPECT_EQ(to_string(step(o, "checkout").status), "failed");
  EXPECT_NE(step(o, "checkout").message.find("production"), std::string::npos) << step(o, "checkout").message;
  EXPECT_TRUE(backend_.builds.empty());
}

TEST_F(PipelineEngineTest, AnInterruptFailsTheRunningStepSkipsTheRestAndCleansUp) {
  commit();
  std::string unit_name;
  backend_.on_run = [&](const RunOptions& o) {
    if (!o.name.ends_with("-unit")) return 0;
    unit_name = o.name;
    ::raise(SIGINT);  // caught by the run: its children are killed, the step ends
    return 137;
  };
  struct sigaction before {};
  ::sigaction(SIGINT, nullptr, &before);
  auto o = run();
  EXPECT_TRUE(o.interrupted);
  EXPECT_FALSE(o.record.passed);
  EXPECT_TRUE(o.record.finished);
  EXPECT_EQ(step(o, "unit").message, "interrupted by INT");
  for (auto name : {"integration", "deploy", "live"})
    EXPECT_EQ(step(o, name).message, "the run was interrupted") << name;
  // The run's own containers are cleaned up; the dev services stay for the next run.
  std::string marker = unit_name.substr(0, unit_name.size() - std::string("unit").size());
  marker = marker.substr(marker.find('-'));
  EXPECT_EQ(events("clean up "), std::vector<std::string>{"clean up " + marker});
  EXPECT_TRUE(backend_.containers.count("redis"));
  // The runner's SIGINT disposition is back as it was.
  struct sigaction after {};
  ::sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  // The next run starts uninterrupted.
  backend_.on_run = [](const RunOptions&) { return 0; };
  auto next = run();
  EXPECT_FALSE(next.interrupted);
  EXPECT_TRUE(next.record.passed);
}

}  // namespace
}  // namespace slipway::pipeline
