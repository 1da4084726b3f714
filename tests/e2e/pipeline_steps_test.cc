// `slipway pipeline run` with a list of steps on a real host: independent steps in parallel (less
// wall time than their sum), a workspace shared from step to step, CI variables, failure
// follow-ups, and `pipeline lint` / `pipeline plan` printing what a run would do.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/pipeline_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

class PipelineStepsTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
    repo_ = std::make_unique<GitRepo>("slipway-steps-repo");
  }

  std::string commit(const std::string& pipeline_file) {
    repo_->write(".slipway.yml", pipeline_file);
    repo_->write("input.txt", "from the repository\n");
    return repo_->commit("steps");
  }

  // The newest run's summary and directory.
  std::pair<json, std::string> last_run() {
    std::string dir = pipeline_run_dirs(root()).back();
    return {run_summary(dir), dir};
  }

  static json step(const json& s, const std::string& name) { return summary_step(s, name); }
  static std::string read(const std::string& path) { return read_text(path); }

  std::unique_ptr<GitRepo> repo_;
};

// Six steps: prepare, then three independent ones of a second each, then a step that needs all
// three, then a failure follow-up that stays skipped.
constexpr const char* kSixSteps = R"(steps:
  - name: prepare
    image: busybox
    network: none
    commands:
      - cat input.txt > shared.txt
      - echo "$CI_COMMIT_SHORT_SHA $CI_JOB_NAME" >> shared.txt
  - {name: slow-a, image: busybox, depends_on: prepare, commands: [sleep 1, echo a > a.txt]}
  - {name: slow-b, image: busybox, network: none, depends_on: prepare, commands: [sleep 1, echo b > b.txt]}
  - {name: slow-c, image: busybox, network: none, depends_on: prepare, commands: [sleep 1, echo c > c.txt]}
  - name: gather
    image: busybox
    network: none
    depends_on: [slow-a, slow-b, slow-c]
    commands: [cat shared.txt a.txt b.txt c.txt]
  - {name: report, image: busybox, network: none, commands: [echo failed], when: {status: failure}}
)";

TEST_F(PipelineStepsTest, IndependentStepsRunInParallelAndShareTheWorkspace) {
  std::string commit_id = commit(kSixSteps);
  auto r = slipway({"pipeline", "run", "--repo", repo_->path(), "--jobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto [s, dir] = last_run();
  EXPECT_TRUE(s["passed"].get<bool>());
  int64_t sum = 0;
  for (const char* name : {"slow-a", "slow-b", "slow-c"}) {
    EXPECT_EQ(step(s, name)["status"], "passed") << name;
    sum += step(s, name)["duration_ms"].get<int64_t>();
  }
  // The three ran side by side: from the first start to the last end is less than their sum.
  int64_t first = INT64_MAX, last = 0;
  for (const char* name : {"slow-a", "slow-b", "slow-c"}) {
    int64_t start = step(s, name)["start_unix_ms"].get<int64_t>();
    first = std::min(first, start);
    last = std::max(last, start + step(s, name)["duration_ms"].get<int64_t>());
  }
  EXPECT_LT(last - first, sum) << "wall " << last - first << " ms, sum " << sum << " ms";
  // And the whole run took less than its six steps one after another.
  int64_t all_steps = 0;
  for (const auto& st : s["steps"]) all_steps += st["duration_ms"].get<int64_t>();
  EXPECT_LT(s["duration_ms"].get<int64_t>(), all_steps);
  EXPECT_EQ(step(s, "report")["status"], "skipped");
  // What one step wrote the next one read, with the CI variables of the step that wrote it.
  std::string gathered = read(dir + "/gather.log");
  EXPECT_NE(gathered.find("from the repository\n" + commit_id.substr(0, 8) + " prepare\na\nb\nc\n"),
            std::string::npos)
      << gathered;
  // Each command is echoed before its output.
  EXPECT_NE(gathered.find("$ cat shared.txt a.txt b.txt c.txt\n"), std::string::npos) << gathered;
  EXPECT_FALSE(stdfs::exists(dir + "/workspace"));
}

TEST_F(PipelineStepsTest, AFailingStepRunsItsFailureFollowUpAndFailsTheRun) {
  commit(R"(steps:
  - {name: test, image: busybox, network: none, commands: [echo testing, "false", echo never]}
  - {name: after, image: busybox, network: none, commands: [echo after]}
  - {name: collect, image: busybox, network: none, commands: [ls /workspace], when: {status: failure}}
)");
  auto r = slipway({"pipeline", "run", "--repo", repo_->path(), "--keep-workspace"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto [s, dir] = last_run();
  EXPECT_FALSE(s["passed"].get<bool>());
  EXPECT_EQ(step(s, "test")["status"], "failed");
  EXPECT_EQ(step(s, "test")["message"], "the script exited with 1");
  std::string log = read(dir + "/test.log");
  EXPECT_NE(log.find("$ echo testing\ntesting\n$ false\n"), std::string::npos) << log;
  EXPECT_EQ(log.find("never"), std::string::npos) << "sh -e stops at the failing command";
  EXPECT_EQ(step(s, "after")["status"], "skipped");
  EXPECT_EQ(step(s, "after")["message"], "test failed");
  EXPECT_EQ(step(s, "collect")["status"], "passed");
  EXPECT_NE(read(dir + "/collect.log").find("input.txt"), std::string::npos);
  EXPECT_TRUE(stdfs::exists(dir + "/workspace/src/input.txt")) << "--keep-workspace";
  EXPECT_EQ(stdfs::status(dir + "/workspace").permissions() & stdfs::perms::all, stdfs::perms::owner_all);
}

TEST_F(PipelineStepsTest, LintAndPlanShowWhatARunWouldDo) {
  std::string file = repo_->path() + "/.slipway.yml";
  std::ofstream(file) << kSixSteps;
  auto lint = slipway({"pipeline", "lint", file});
  EXPECT_EQ(lint.exit_code, 0) << lint.err;
  EXPECT_EQ(lint.out, file + ": ok, 6 steps\n");

  auto plan = slipway({"pipeline", "plan", file, "--branch", "feature/x"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("plan of " + file + " for branch feature/x, environment testing, event manual:\n"
                          "prepare (commands)\n  image:    busybox\n  network:  none\n  workdir:  /workspace\n"
                          "  $ cat input.txt > shared.txt\n"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("gather (commands)\n  after:    slow-a, slow-b, slow-c\n"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("report (commands)\n  after:    prepare, slow-a, slow-b, slow-c, gather\n"
                          "  runs:     when one before it failed\n"),
            std::string::npos)
      << plan.out;

  std::ofstream(file) << "steps:\n  - {name: a, image: busybox, commands: [x], depends_on: b}\n";
  lint = slipway({"pipeline", "lint", file});
  EXPECT_EQ(lint.exit_code, 125);
  EXPECT_EQ(lint.err, "slipway: error: " + file + ":2: steps.a.depends_on: no step named \"b\"\n");
}

TEST_F(PipelineStepsTest, ACacheHitShowsInTheSecondRunsTimeAndGcPrunesRunsAndCaches) {
  // The first run fills the cache slowly; the second finds it and skips the work.
  commit(R"(steps:
  - name: deps
    image: busybox
    network: none
    cache: [{key: "deps-{{ checksum \"input.txt\" }}", paths: [/cache]}]
    commands:
      - if [ -f /cache/built ]; then echo cache hit; else sleep 1.5; echo built > /cache/built; fi
)");
  for (int i = 0; i < 2; ++i) ASSERT_EQ(slipway({"pipeline", "run", "--repo", repo_->path()}).exit_code, 0);
  std::vector<std::string> dirs = pipeline_run_dirs(root());
  ASSERT_EQ(dirs.size(), 2u);
  auto duration = [&](const std::string& dir) { return step(run_summary(dir), "deps")["duration_ms"].get<int64_t>(); };
  EXPECT_GT(duration(dirs[0]), 1500);
  EXPECT_LT(duration(dirs[1]), duration(dirs[0]) - 1000) << "the second run found the cache";
  EXPECT_NE(read(dirs[1] + "/deps.log").find("cache hit"), std::string::npos);
  EXPECT_NE(read(dirs[1] + "/deps.log").find("cache deps-"), std::string::npos);

  auto gc = slipway({"gc", "--keep-runs", "1", "--cache-max", "0"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed pipeline run " + stdfs::path(dirs[0]).filename().string()), std::string::npos)
      << gc.out;
  EXPECT_NE(gc.out.find("removed cache deps-"), std::string::npos) << gc.out;
  EXPECT_FALSE(stdfs::exists(dirs[0]));
  EXPECT_TRUE(stdfs::exists(dirs[1])) << "the newest run stays";
  EXPECT_EQ(slipway({"gc", "--cache-max", "lots"}).exit_code, 125);
}

}  // namespace
}  // namespace slipway::testing
