// The list form of steps on the in-memory backend: steps in parallel up to --jobs, failure
// follow-ups, commands steps in the workspace with the CI variables, retries; secrets (masked in
// logs, never in reports), artifacts, JUnit reports and caches.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "pipeline/pipeline_plan.h"
#include "tests/support/engine_fixture.h"

namespace slipway::pipeline {
namespace {

namespace stdfs = std::filesystem;
using slipway::testing::TempDir;

class PipelineStepsEngineTest : public slipway::testing::EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    backend_.images = {"busybox"};
  }
};

constexpr const char* kListFile = R"(steps:
  - {name: lint, image: busybox, commands: [lint], depends_on: []}
  - {name: test, image: busybox, commands: [test], depends_on: []}
  - {name: docs, image: busybox, commands: [docs], depends_on: []}
  - {name: package, image: busybox, commands: [package], depends_on: [lint, test, docs]}
  - {name: on-failure, image: busybox, commands: [report], when: {status: failure}}
  - {name: finally, image: busybox, commands: [cleanup], when: {status: always}}
  - {name: release, image: busybox, commands: [release], depends_on: [package], when: {branch: "release/*"}}
)";

// The last word of a commands step's script: which step a container is.
std::string script_of(const RunOptions& o) { return o.command.empty() ? "" : o.command.back(); }

TEST_F(PipelineStepsEngineTest, IndependentStepsRunAtTheSameTimeUpToJobs) {
  commit(kListFile);
    std::mutex mu;
  std::condition_variable cv;
  int running = 0, most = 0;
  backend_.on_run = [&](const RunOptions&) {
    std::unique_lock lock(mu);
    most = std::max(most, ++running);
    cv.notify_all();
    // Held until three run at once (or, with --jobs 1, a moment).
    cv.wait_for(lock, std::chrono::seconds(3), [&] { return most >= 3; });
    --running;
    return 0;
  };
  auto o = run("testing", 3);
  EXPECT_TRUE(o.record.passed);
  EXPECT_EQ(most, 3) << "lint, test and docs at once";
  std::vector<std::string> names;
  for (const auto& s : o.record.steps) names.push_back(s.name + ":" + std::string(to_string(s.status)));
  EXPECT_EQ(names, (std::vector<std::string>{"checkout:passed", "lint:passed", "test:passed", "docs:passed",
                                             "package:passed", "release:skipped", "on-failure:skipped",
                                             "finally:passed"}))
      << "in an order that respects the dependencies: follow-ups after all";
  EXPECT_EQ(step(o, "release").message, "branch main does not match its when.branch");
  EXPECT_EQ(step(o, "on-failure").message, "nothing before it failed");

  most = 0;
  backend_.on_run = [&](const RunOptions&) {
    std::unique_lock lock(mu);
    most = std::max(most, ++running);
    cv.wait_for(lock, std::chrono::milliseconds(20));
    --running;
    return 0;
  };
  EXPECT_TRUE(run("testing", 1).record.passed);
  EXPECT_EQ(most, 1) << "--jobs 1: one step at a time";
}

TEST_F(PipelineStepsEngineTest, AFailureCancelsItsDependentsAndRunsTheFollowUps) {
  commit(kListFile);
    backend_.on_run = [](const RunOptions& o) { return script_of(o).ends_with("test\n") ? 2 : 0; };
  auto o = run();
  EXPECT_FALSE(o.record.passed);
  EXPECT_EQ(to_string(step(o, "test").status), "failed");
  EXPECT_EQ(step(o, "test").message, "the script exited with 2");
  EXPECT_EQ(to_string(step(o, "lint").status), "passed") << "independent steps finish";
  EXPECT_EQ(to_string(step(o, "package").status), "skipped");
  EXPECT_EQ(step(o, "package").message, "test failed");
  EXPECT_EQ(to_string(step(o, "on-failure").status), "passed");
  EXPECT_EQ(to_string(step(o, "finally").status), "passed");
}

TEST_F(PipelineStepsEngineTest, ACommandsStepRunsItsScriptInTheWorkspaceWithTheCiVariables) {
  std::string commit_id = commit(
      "steps:\n  - name: test\n    image: busybox\n    commands: [\"make test\"]\n"
      "    environment: {REF: \"${CI_COMMIT_SHORT_SHA}\"}\n    timeout: 30\n");
    std::string workspace_seen;
  stdfs::perms workspace_mode{};
  backend_.on_run = [&](const RunOptions& o) {
    // The checkout is there while the step runs.
    std::string source = o.volumes.empty() ? "" : o.volumes[0].substr(0, o.volumes[0].find(':'));
    if (stdfs::exists(source + "/.slipway.yml")) workspace_seen = source;
    workspace_mode = stdfs::status(stdfs::path(source).parent_path()).permissions();
    return 0;
  };
  auto o = run();
  ASSERT_TRUE(o.record.passed) << step(o, "test").message;
  ASSERT_EQ(backend_.started.size(), 1u);
  const RunOptions& c = backend_.started[0];
  EXPECT_EQ(c.image, "busybox");
  EXPECT_EQ(c.net, "default");
  EXPECT_EQ(c.workdir, "/workspace");
  EXPECT_EQ(c.entrypoint, "/bin/sh");
  EXPECT_EQ(c.command, (std::vector<std::string>{"-e", "-c", command_script({"make test"})}));
  EXPECT_EQ(c.timeout_seconds, 30);
  EXPECT_EQ(workspace_seen, o.run_dir + "/workspace/src");
  ASSERT_EQ(c.volumes.size(), 1u);
  EXPECT_EQ(c.volumes[0], o.run_dir + "/workspace/src:/workspace");
  auto has = [&](const std::string& kv) { return std::find(c.env.begin(), c.env.end(), kv) != c.env.end(); };
  EXPECT_TRUE(has("CI=true"));
  EXPECT_TRUE(has("CI_COMMIT_SHA=" + commit_id));
  EXPECT_TRUE(has("CI_COMMIT_BRANCH=main"));
  EXPECT_TRUE(has("CI_COMMIT_MESSAGE=page v1"));
  EXPECT_TRUE(has("CI_JOB_NAME=test"));
  EXPECT_TRUE(has("CI_PIPELINE_ID=" + o.record.id));
  EXPECT_TRUE(has("REF=" + commit_id.substr(0, 8)));
  EXPECT_FALSE(stdfs::exists(o.run_dir + "/workspace")) << "removed with the run";
  EXPECT_EQ(workspace_mode, stdfs::perms::owner_all) << "other host users cannot reach what steps write";
}

TEST_F(PipelineStepsEngineTest, AFailedStepIsTriedAgainUpToItsRetries) {
  commit("steps:\n  - {name: flaky, image: busybox, commands: [test], retry: 2}\n");
    int attempts = 0;
  backend_.on_run = [&](const RunOptions&) { return ++attempts < 3 ? 1 : 0; };
  auto o = run();
  EXPECT_TRUE(o.record.passed);
  EXPECT_EQ(attempts, 3);
  std::ifstream in(o.run_dir + "/flaky.log");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("slipway: attempt 1 of 3 failed (the script exited with 1); trying again"), std::string::npos)
      << log;

  attempts = -10;
  commit("steps:\n  - {name: flaky, image: busybox, commands: [test], retry: 1}\n", "v2");
  EXPECT_FALSE(run().record.passed);
  EXPECT_EQ(attempts, -8) << "two attempts, then the step fails";
}


TEST_F(PipelineStepsEngineTest, AnInterruptStartsNothingMoreNotEvenTheFollowUps) {
  commit(kListFile);
  std::vector<std::string> ran;
  backend_.on_run = [&](const RunOptions& o) {
    ran.push_back(o.name);
    ::raise(SIGINT);  // caught by the run
    return 137;
  };
  auto o = run("testing", 1);
  EXPECT_TRUE(o.interrupted);
  ASSERT_EQ(ran.size(), 1u) << "one step at a time, and none after the interrupt";
  EXPECT_EQ(step(o, "lint").message, "interrupted by INT");
  for (auto name : {"test", "docs", "package", "on-failure", "finally"}) {
    EXPECT_EQ(to_string(step(o, name).status), "skipped") << name;
    EXPECT_EQ(step(o, name).message, "the run was interrupted") << name;
  }
}

// The workspace of a container: the source of its /workspace volume.
std::string workspace_of(const RunOptions& o) {
  for (const auto& v : o.volumes)
    if (v.ends_with(":/workspace")) return v.substr(0, v.size() - std::string(":/workspace").size());
  return "";
}

// Every file under dir, as text, for greps.
std::string all_text_under(const std::string& dir) {
  std::string all;
  for (auto& e : stdfs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) {
      std::ifstream in(e.path());
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  return all;
}

constexpr const char* kSecretValue = "s3cret-Token-9f8e7d";
constexpr const char* kSecretBase64 = "czNjcmV0LVRva2VuLTlmOGU3ZA==";  // base64 of kSecretValue

TEST_F(PipelineStepsEngineTest, SecretsReachOnlyTheirStepAndAreMaskedEverywhere) {
  commit(R"(steps:
  - name: deploy-docs
    image: busybox
    commands: [publish]
    secrets: [API_TOKEN, {name: SSH_KEY, as: file}]
  - {name: other, image: busybox, commands: [build]}
)");
  TempDir secrets_dir("slipway-secrets");
  std::string file = secrets_dir.path() + "/app.env";
  std::ofstream(file) << "API_TOKEN=" << kSecretValue << "\nSSH_KEY=ssh-key-material-0123\nUNUSED=unused-value-xyz\n";
  ::chmod(file.c_str(), 0600);
  std::string env_file_text, secret_files;
  backend_.on_run = [&](const RunOptions& o) {
    if (o.name.ends_with("-deploy-docs")) {
      EXPECT_EQ(o.env_files.size(), 1u);
      if (!o.env_files.empty()) env_file_text = read(o.env_files[0]);
      for (const auto& v : o.volumes)
        if (v.ends_with(":/run/secrets:ro")) secret_files = read(v.substr(0, v.find(':')) + "/SSH_KEY");
    } else {
      EXPECT_TRUE(o.env_files.empty()) << "secrets reach only the steps that name them";
    }
    for (const auto& e : o.env) EXPECT_EQ(e.find(kSecretValue), std::string::npos) << "never on a command line";
    return 0;
  };
  // The step prints the secret whole, split across writes, and base64-encoded.
  backend_.prints = [](const RunOptions&) {
    return std::vector<std::string>{std::string("token is ") + kSecretValue + "\n", "split: s3cret-To",
                                    "ken-9f8e7d\n", std::string("encoded: ") + kSecretBase64 + "\n"};
  };
  auto r = request();
  r.secrets_file = file;
  auto o = run(r);
  ASSERT_TRUE(o.record.passed) << step(o, "checkout").message << step(o, "deploy-docs").message;
  EXPECT_EQ(env_file_text, std::string("API_TOKEN=") + kSecretValue + "\n");
  EXPECT_EQ(secret_files, "ssh-key-material-0123");
  std::string log = read(o.run_dir + "/deploy-docs.log");
  EXPECT_NE(log.find("token is ***\nsplit: ***\nencoded: ***"), std::string::npos) << log;
  // Nothing under the run directory or the root holds the value, plain or base64.
  std::string everything = all_text_under(root_.path()) + all_text_under(o.run_dir);
  EXPECT_EQ(everything.find(kSecretValue), std::string::npos);
  EXPECT_EQ(everything.find("czNjcmV0LVRva2VuLTlmOGU3"), std::string::npos);
  // The secret files lived on the run root only while the step ran.
  EXPECT_TRUE(stdfs::is_empty(run_root_.path() + "/pipeline-secrets"));
}

TEST_F(PipelineStepsEngineTest, AMissingSecretFailsTheRunBeforeAnyStep) {
  commit("steps:\n  - {name: a, image: busybox, commands: [x], secrets: [NOPE]}\n");
  auto o = run();
  EXPECT_FALSE(o.record.passed);
  EXPECT_EQ(step(o, "checkout").message,
            ".slipway.yml:2: steps.a.secrets: NOPE is not in any secrets file (give one with --secrets FILE)");
  EXPECT_TRUE(events("run ").empty());
}

TEST_F(PipelineStepsEngineTest, ArtifactsAndJunitReportsAreKeptAlsoWhenTheStepFails) {
  commit(R"(steps:
  - name: test
    image: busybox
    commands: [pytest]
    artifacts: [dist/, coverage.txt]
    reports: {junit: "reports/*.xml"}
)");
  backend_.on_run = [](const RunOptions& o) {
    std::string ws = workspace_of(o);
    stdfs::create_directories(ws + "/dist");
    stdfs::create_directories(ws + "/reports");
    std::ofstream(ws + "/dist/lib-1.0.whl") << "wheel";
    std::ofstream(ws + "/coverage.txt") << "92%";
    std::ofstream(ws + "/reports/unit.xml")
        << "<testsuite name=\"pytest\" tests=\"2\"><testcase classname=\"t.core\" name=\"test_ok\" time=\"0.1\"/>"
           "<testcase classname=\"t.core\" name=\"test_div\" time=\"0.2\"><failure message=\"ZeroDivisionError\">"
           "trace</failure></testcase></testsuite>";
    return 1;
  };
  auto o = run();
  const StepRecord& test = step(o, "test");
  EXPECT_EQ(to_string(test.status), "failed");
  EXPECT_EQ(test.message, "the script exited with 1 (2 tests, 1 failed)");
  EXPECT_EQ(test.artifacts, (std::vector<std::string>{"artifacts/test/coverage.txt", "artifacts/test/dist/lib-1.0.whl"}));
  EXPECT_EQ(read(o.run_dir + "/artifacts/test/dist/lib-1.0.whl"), "wheel");
  ASSERT_EQ(test.tests.size(), 2u);
  EXPECT_EQ(test.tests[1].name, "test_div");
  EXPECT_EQ(test.tests[1].message, "ZeroDivisionError");
  std::string junit = read(o.run_dir + "/junit.xml");
  EXPECT_NE(junit.find("<testsuites name=\"slipway\" tests=\"4\" failures=\"2\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<testsuite name=\"test: pytest\" tests=\"2\" failures=\"1\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"ZeroDivisionError\">trace</failure>"), std::string::npos) << junit;
  std::string html = read(o.run_dir + "/report.html");
  EXPECT_NE(html.find("<a href=\"artifacts/test/dist/lib-1.0.whl\">"), std::string::npos);
  EXPECT_NE(html.find("<b>t.core.test_div</b> failed: ZeroDivisionError"), std::string::npos);
  // summary.json keeps them for `pipeline show` and the next report.
  auto again = parse_summary_json(read(o.run_dir + "/summary.json"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->steps.back().tests, test.tests);
  EXPECT_EQ(again->steps.back().artifacts, test.artifacts);
}

TEST_F(PipelineStepsEngineTest, ACacheOutlivesTheRunAndIsFoundByItsKey) {
  std::string file = R"(steps:
  - name: deps
    image: busybox
    commands: [pip install]
    cache: [{key: "pip-{{ checksum \"requirements.txt\" }}", paths: [/root/.cache/pip, vendor]}]
)";
  std::ofstream(repo_.path() + "/requirements.txt") << "pytest\n";
  commit(file);
  std::vector<std::string> mounts;
  backend_.on_run = [&](const RunOptions& o) {
    mounts = o.volumes;
    for (const auto& v : o.volumes)
      if (v.ends_with(":/root/.cache/pip")) std::ofstream(v.substr(0, v.find(':')) + "/wheel") << "w";
    return 0;
  };
  auto first = run();
  ASSERT_TRUE(first.record.passed) << step(first, "deps").message;
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_TRUE(mounts[1].ends_with(":/root/.cache/pip")) << mounts[1];
  EXPECT_TRUE(mounts[2].ends_with(":/workspace/vendor")) << mounts[2];
  EXPECT_NE(read(first.run_dir + "/deps.log").find(": new"), std::string::npos);
  std::vector<std::string> first_mounts = mounts;
  auto second = run();
  EXPECT_NE(read(second.run_dir + "/deps.log").find(": hit ("), std::string::npos) << read(second.run_dir + "/deps.log");
  EXPECT_EQ(mounts[1], first_mounts[1]) << "the same key, the same directory";
  EXPECT_TRUE(stdfs::exists(mounts[1].substr(0, mounts[1].find(':')) + "/wheel"));
}

}  // namespace
}  // namespace slipway::pipeline
