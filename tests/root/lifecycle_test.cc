// A container's life after its first exit, as Docker's: `start` and `restart` keep its writable
// layer, name and network options; `--restart` policies bring it back, with back-off, until it
// succeeds, runs out of retries or is stopped on purpose.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

class LifecycleTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
  }

  std::string inspect(const std::string& name, const std::string& format) {
    auto r = slipway({"inspect", "-f", format, name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // Polls until inspect's format prints `want` (or 10 s pass); returns what it printed last.
  std::string await(const std::string& name, const std::string& format, const std::string& want) {
    std::string got;
    for (int i = 0; i < 200; ++i) {
      got = inspect(name, format);
      if (got == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return got;
  }
};

TEST_F(LifecycleTest, StartRunsAStoppedContainerAgainWithItsWritableLayer) {
  auto first = slipway({"run", "--name", "c", "busybox", "sh", "-c", "echo x >> /runs; wc -l < /runs"});
  EXPECT_EQ(first.out, "1\n");
  auto started = slipway({"start", "c"});
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(started.out, "c\n");
  EXPECT_EQ(slipway({"wait", "c"}).out, "0\n");
  EXPECT_EQ(slipway({"logs", "c"}).out, "2\n");  // a foreground run has no log; the start does
  auto restarted = slipway({"restart", "c"});
  EXPECT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_EQ(slipway({"wait", "c"}).out, "0\n");
  EXPECT_EQ(slipway({"logs", "c"}).out, "2\n3\n");
  auto missing = slipway({"start", "c", "nope"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_EQ(missing.out, "c\n");
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_EQ(slipway({"wait", "c"}).exit_code, 0);
  EXPECT_EQ(slipway({"rm", "c"}).exit_code, 0);
}

TEST_F(LifecycleTest, RestartKeepsTheNetworkAndItsNames) {
  ASSERT_EQ(slipway({"network", "create", "lnet"}).exit_code, 0);
  ASSERT_EQ(slipway({"run", "-d", "--name", "web", "--net", "lnet", "--alias", "www", "busybox", "sh", "-c",
                     "hostname -i; exec sleep 60"}).exit_code, 0);
  auto restarted = slipway({"restart", "-t", "0", "web"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  ASSERT_EQ(slipway({"run", "--rm", "--net", "lnet", "busybox", "sh", "-c", "nslookup www >/dev/null && echo found"}).out,
            "found\n");
  EXPECT_EQ(inspect("web", "{{.State.Status}}"), "running\n");
  EXPECT_EQ(slipway({"rm", "-f", "web"}).exit_code, 0);  // the fixture removes the network
}

TEST_F(LifecycleTest, OnFailureRestartsUntilItsRetriesRunOut) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "f", "--restart", "on-failure:2", "busybox", "sh", "-c",
                     "echo run >> /runs; wc -l < /runs; exit 3"}).exit_code, 0);
  EXPECT_EQ(slipway({"wait", "f"}).out, "3\n") << "wait returns once it stays down";
  EXPECT_EQ(slipway({"logs", "f"}).out, "1\n2\n3\n");
  EXPECT_EQ(inspect("f", "{{.RestartCount}} {{.State.Status}} {{json .HostConfig.RestartPolicy}}"),
            "2 exited {\"MaximumRetryCount\":2,\"Name\":\"on-failure\"}\n");
  // Success ends on-failure at once.
  ASSERT_EQ(slipway({"run", "-d", "--name", "ok", "--restart", "on-failure", "busybox", "true"}).exit_code, 0);
  EXPECT_EQ(slipway({"wait", "ok"}).out, "0\n");
  EXPECT_EQ(inspect("ok", "{{.RestartCount}}"), "0\n");
  EXPECT_EQ(slipway({"rm", "f", "ok"}).exit_code, 0);
}

TEST_F(LifecycleTest, AlwaysRestartsUntilStoppedOnPurpose) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "a", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2"}).exit_code, 0);
  EXPECT_EQ(await("a", "{{ge .RestartCount 2}}", "true\n"), "true\n");
  auto stop = slipway({"stop", "-t", "1", "a"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  std::string status = inspect("a", "{{.State.Status}}");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(status, "exited\n");
  EXPECT_EQ(inspect("a", "{{.State.Status}}"), "exited\n") << "a stopped container stays stopped";
  // kill is on purpose too, and rm -f stops one between restarts.
  ASSERT_EQ(slipway({"run", "-d", "--name", "k", "--restart", "always", "busybox", "sleep", "60"}).exit_code, 0);
  ASSERT_EQ(slipway({"kill", "k"}).exit_code, 0);
  EXPECT_EQ(slipway({"wait", "k"}).out, "137\n");
  EXPECT_EQ(inspect("k", "{{.RestartCount}} {{.State.Status}}"), "0 exited\n");
  ASSERT_EQ(slipway({"run", "-d", "--name", "b", "--restart", "always", "busybox", "false"}).exit_code, 0);
  EXPECT_EQ(await("b", "{{ge .RestartCount 1}}", "true\n"), "true\n");
  auto rm = slipway({"rm", "-f", "a", "b", "k"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "");
}

TEST_F(LifecycleTest, HealthCmdIsProbedAndShownAsDockers) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "h", "--health-cmd", "test -f /ready && echo ok", "--health-interval",
                     "100ms", "--health-retries", "2", "busybox", "sh", "-c",
                     "sleep 0.5; touch /ready; sleep 1; rm /ready; exec sleep 60"}).exit_code, 0);
  EXPECT_EQ(inspect("h", "{{.State.Health.Status}}"), "starting\n");
  EXPECT_EQ(slipway({"ps", "--format", "{{.Status}}"}).out.find("(health: starting)") != std::string::npos, true);
  EXPECT_EQ(await("h", "{{.State.Health.Status}}", "healthy\n"), "healthy\n");
  EXPECT_NE(inspect("h", "{{range .State.Health.Log}}[{{.ExitCode}} {{.Output}}]{{end}}").find("[0 ok\n]"),
            std::string::npos);
  EXPECT_EQ(slipway({"ps", "--filter", "health=healthy", "--format", "{{.Names}}"}).out, "h\n");
  EXPECT_EQ(await("h", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", "unhealthy 2\n"), "unhealthy 2\n");
  EXPECT_NE(slipway({"ps", "--format", "{{.Status}}"}).out.find("(unhealthy)"), std::string::npos);
  EXPECT_EQ(inspect("h", "{{.State.Running}}"), "true\n") << "an unhealthy container keeps running, as Docker's";
  // A probe that outlives its timeout is a failure that says so.
  ASSERT_EQ(slipway({"run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-interval", "100ms",
                     "--health-timeout", "200ms", "--health-retries", "1", "busybox", "sleep", "60"}).exit_code, 0);
  EXPECT_EQ(await("slow", "{{.State.Health.Status}}", "unhealthy\n"), "unhealthy\n");
  EXPECT_EQ(inspect("slow", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}"),
            "-1 Health check exceeded timeout (200ms)\n");
  EXPECT_EQ(inspect("slow", "{{json .State.Health}}") != "null\n", true);
  ASSERT_EQ(slipway({"run", "-d", "--name", "plain", "busybox", "sleep", "60"}).exit_code, 0);
  EXPECT_EQ(inspect("plain", "{{json .State.Health}}"), "null\n");
  EXPECT_EQ(slipway({"rm", "-f", "h", "slow", "plain"}).exit_code, 0);
}

TEST_F(LifecycleTest, RestartPolicyBadInputs) {
  auto bad = slipway({"run", "-d", "--restart", "sometimes", "busybox", "true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(bad.err, "slipway: error: invalid --restart \"sometimes\": use no, on-failure[:N], always or unless-stopped\n");
  EXPECT_EQ(slipway({"run", "-d", "--rm", "--restart", "always", "busybox", "true"}).err,
            "slipway: error: conflicting options: --restart and --rm\n");
  EXPECT_EQ(slipway({"run", "--restart", "always", "busybox", "true"}).err,
            "slipway: error: --restart always applies to detached containers: add -d\n");
  EXPECT_EQ(slipway({"run", "-d", "--restart", "always:3", "busybox", "true"}).err,
            "slipway: error: invalid --restart \"always:3\": only on-failure takes a maximum retry count\n");
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "") << "a refused run leaves no record";
}

}  // namespace
}  // namespace slipway::testing
