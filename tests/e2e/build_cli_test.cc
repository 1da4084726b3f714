// `slipway build` end to end (root): single- and multi-stage builds of busybox Dockerfiles checked
// by running the result, the layer cache (a second build starts no container), --no-cache, bad
// input with file:line errors, and an interrupted build that tags nothing and leaves nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "tests/support/test_support.h"

extern char** environ;

namespace slipway::testing {
namespace {

class BuildCliTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
  }

  void file(const std::string& rel, const std::string& data) {
    std::string path = fs::join(ctx_.path(), rel);
    ASSERT_TRUE(fs::make_dirs(path.substr(0, path.rfind('/'))));
    ASSERT_TRUE(fs::write_file(path, data));
  }

  CommandResult build(std::vector<std::string> args) {
    args.insert(args.begin(), "build");
    args.push_back(ctx_.path());
    return slipway(args);
  }

  // A failed build: one "slipway: error:" line naming what failed, exit 125, nothing tagged and
  // nothing left in the store's temp dir or the run root.
  void expect_failure(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_NE(r.err.find("slipway: error: " + message + "\n"), std::string::npos) << r.err;
    EXPECT_EQ(count(r.err, "slipway: error:"), 1) << r.err;
    EXPECT_EQ(count(slipway({"image", "ls", "-q"}).out, "\n"), 1) << "only busybox is tagged";
    expect_clean();
  }

  void expect_clean() {
    EXPECT_EQ(fs::list_dir(fs::join(root(), "tmp"))->size(), 0u) << "temp files left";
    auto containers = fs::list_dir(fs::join(run_root(), "containers"));
    if (containers) {
      EXPECT_EQ(*containers, std::vector<std::string>{"names"}) << "container records left";
    }
  }

  TempDir ctx_{"slipway-build-ctx"};
};

TEST_F(BuildCliTest, SingleStageBuildRunsAndRebuildsFromCache) {
  file("a.txt", "from the context\n");
  file("Dockerfile",
       "FROM busybox\n"
       "ENV GREETING=hi\n"
       "WORKDIR /app\n"
       "COPY a.txt .\n"
       "RUN echo \"$GREETING\" > /app/greeting && rm /etc/group\n"
       "CMD [\"cat\", \"/app/greeting\"]\n");
  auto first = build({"-t", "app:1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::string id = last_line(first.out);
  EXPECT_TRUE(id.starts_with("sha256:")) << first.out;
  EXPECT_NE(first.err.find("[stage-0 5/6] RUN /bin/sh -c echo \"$GREETING\""), std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find(", 1 containers\n"), std::string::npos) << first.err;

  auto run = slipway({"run", "--rm", "app:1"});
  EXPECT_EQ(run.out, "hi\n") << run.err;
  auto look = slipway({"run", "--rm", "app:1", "sh", "-c",
                       "pwd; cat a.txt; test -e /etc/group || echo group-removed; "
                       "test -e /etc/hosts.orig || ls /etc"});
  EXPECT_EQ(look.out,
            "/app\nfrom the context\ngroup-removed\nhostname\nhosts\npasswd\nresolv.conf\n")
      << look.err;

  // The same inputs: every layer step from the cache, no container, the same image.
  auto again = build({"-t", "app:1"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(last_line(again.out), id);
  EXPECT_EQ(count(again.err, "\nCACHED ["), 3) << again.err;
  EXPECT_NE(again.err.find("3 of 3 layer steps cached, 0 containers"), std::string::npos)
      << again.err;
  expect_clean();

  // --no-cache runs everything again, and the same inputs still give the same image.
  auto fresh = build({"--no-cache", "-t", "app:1"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(count(fresh.err, "CACHED"), 0) << fresh.err;
  EXPECT_NE(fresh.err.find(", 1 containers\n"), std::string::npos) << fresh.err;
  EXPECT_EQ(last_line(fresh.out), id);

  // A changed source misses from its COPY on; the steps before it still hit.
  file("a.txt", "changed\n");
  auto changed = build({"-t", "app:2"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_NE(changed.err.find("CACHED [stage-0 3/6] WORKDIR /app"), std::string::npos)
      << changed.err;
  EXPECT_NE(changed.err.find("\n[stage-0 4/6] COPY a.txt ."), std::string::npos) << changed.err;
  EXPECT_NE(changed.err.find("\n[stage-0 5/6] RUN"), std::string::npos) << changed.err;
  EXPECT_NE(last_line(changed.out), id);
  EXPECT_EQ(slipway({"run", "--rm", "app:2", "cat", "a.txt"}).out, "changed\n");
}

TEST_F(BuildCliTest, MultiStageBuildsWhatTheTargetNeeds) {
  file("tool.sh", "echo tool says $1\n");
  file("Dockerfile",
       "ARG MSG=hello\n"
       "FROM busybox AS build\n"
       "ARG MSG\n"
       "COPY tool.sh /src/\n"
       "RUN mkdir -p /out/bin && printf '#!/bin/sh\\n' > /out/bin/tool && "
       "cat /src/tool.sh >> /out/bin/tool && chmod 755 /out/bin/tool && echo $MSG > /out/msg\n"
       "FROM build AS test\n"
       "RUN /out/bin/tool test > /test-ran\n"
       "FROM busybox\n"
       "COPY --from=build /out/ /usr/local/\n"
       "USER nobody\n"
       "ENTRYPOINT [\"/usr/local/bin/tool\"]\n");
  auto r = build({"-t", "ms:1", "--build-arg", "MSG=from-arg"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("[test "), std::string::npos) << "the test stage is not needed: " << r.err;
  auto run = slipway({"run", "--rm", "ms:1", "final"});
  EXPECT_EQ(run.out, "tool says final\n") << run.err;
  auto msg = slipway({"run", "--rm", "--entrypoint", "sh", "ms:1", "-c",
                      "cat /usr/local/msg; id -u; test -e /src || echo no-src"});
  EXPECT_EQ(msg.out, "from-arg\n65534\nno-src\n") << msg.err;

  auto t = build({"-t", "ms:test", "--target", "test", "--build-arg", "MSG=from-arg"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.err.find("CACHED [build 4/4] RUN"), std::string::npos) << t.err;
  EXPECT_EQ(slipway({"run", "--rm", "ms:test", "cat", "/test-ran"}).out, "tool says test\n");

  auto inspect = slipway({"image", "inspect", "ms:1"});
  auto j = nlohmann::json::parse(inspect.out)[0];
  EXPECT_EQ(j["Config"]["User"], "nobody");
  EXPECT_EQ(j["Config"]["Entrypoint"], nlohmann::json::array({"/usr/local/bin/tool"}));
  EXPECT_FALSE(j["Config"].contains("Cmd")) << "ENTRYPOINT drops the base image's Cmd";
  EXPECT_EQ(j["RootFS"]["Layers"].size(), 2u) << "busybox + one COPY";
  EXPECT_EQ(j["Created"], "1970-01-01T00:00:00Z");
}

TEST_F(BuildCliTest, BadInputFailsWithFileAndLine) {
  file("a.txt", "a");
  file("syntax.Dockerfile", "FROM busybox\nCOPY onlyone\n");
  expect_failure(build({"-f", fs::join(ctx_.path(), "syntax.Dockerfile")}),
                 "syntax.Dockerfile:2: COPY requires at least two arguments, but only one was "
                 "provided. Destination could not be determined");
  file("Dockerfile", "FROM busybox\nCOPY missing.txt /x\n");
  expect_failure(build({"-t", "bad:1"}),
                 "Dockerfile:2: COPY: source \"missing.txt\" not found in the build context");
  file("Dockerfile", "FROM busybox AS one\nRUN true\n");
  expect_failure(build({"-t", "bad:1", "--target", "two"}),
                 "Dockerfile: target stage \"two\" could not be found (named stages: one)");
  // Images the store lacks would be pulled (pull_on_demand_test.cc); never pull here: no test
  // traffic leaves the machine.
  file("Dockerfile", "FROM nosuchbase:1.0\nRUN true\n");
  expect_failure(build({"-t", "bad:1", "--pull", "never"}),
                 "Dockerfile:1: FROM nosuchbase:1.0: no such image: nosuchbase:1.0");
  file("Dockerfile", "FROM busybox\nCOPY --from=nostage /x /y\n");
  expect_failure(build({"-t", "bad:1", "--pull", "never"}),
                 "Dockerfile:2: COPY --from=nostage: no such image: nostage:latest");
  file("Dockerfile",
       "FROM busybox\nCOPY a.txt /a\nRUN echo to-stdout; echo to-stderr >&2; exit 3\n");
  auto failing = build({"-t", "bad:1"});
  EXPECT_NE(failing.out.find("to-stdout\n"), std::string::npos) << "the RUN's output is shown";
  EXPECT_NE(failing.err.find("to-stderr\n"), std::string::npos) << failing.err;
  expect_failure(failing, "Dockerfile:3: RUN exited with code 3");
  auto tag = slipway({"build", "-t", "Bad:Name", ctx_.path()});
  EXPECT_EQ(tag.exit_code, 125);
  EXPECT_NE(tag.err.find("-t Bad:Name: "), std::string::npos) << tag.err;
}

// Starts slipway without waiting; stderr goes to a pipe the test reads.
struct Spawned {
  pid_t pid = -1;
  int err = -1;
};

Spawned spawn(const std::vector<std::string>& argv) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Spawned s;
  EXPECT_EQ(posix_spawn(&s.pid, args[0], &fa, nullptr, args.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  s.err = p[0];
  return s;
}

TEST_F(BuildCliTest, InterruptedBuildTagsNothingAndLeavesNothing) {
  file("a.txt", "a");
  file("Dockerfile", "FROM busybox\nCOPY a.txt /a\nRUN sleep 3071\n");
  Spawned s = spawn({slipway_binary(), "--root", root(), "--run-root", run_root(), "build", "-t",
                     "interrupted:1", ctx_.path()});
  // Wait for the RUN step to be running.
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (err.find("RUN /bin/sh -c sleep 3071") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{s.err, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(s.err, buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  ASSERT_NE(err.find("sleep 3071"), std::string::npos) << err;
  // /proc/PID/cmdline separates arguments with NULs.
  const std::string sleeper(
      "sleep\0"
      "3071",
      10);
  while (processes_containing(sleeper).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_FALSE(processes_containing(sleeper).empty()) << "the RUN step never started";
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(s.pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(s.pid, &status, 0), s.pid);
  for (char buf[4096]; ssize_t n = ::read(s.err, buf, sizeof buf);) {
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  ::close(s.err);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130) << err;
  EXPECT_NE(err.find("slipway: error: build interrupted: nothing was tagged"), std::string::npos)
      << err;
  EXPECT_EQ(slipway({"image", "inspect", "interrupted:1"}).exit_code, 125);
  EXPECT_EQ(processes_containing(sleeper), std::vector<int>{});
  expect_clean();
}

}  // namespace
}  // namespace slipway::testing
