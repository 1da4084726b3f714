// `slipway pipeline run` on small git repositories of a busybox httpd app: a green run and its
// reports, image reuse, a failing unit test, a deploy that never gets ready, two runs at once,
// SIGKILL of the runner then gc (also of what a runner killed elsewhere leaves), and a malformed
// pipeline file.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

struct AppVariant {
  std::string page = "v1";          // what index.html says
  std::string unit = "true";        // the unit test command
  std::string deploy_broken = "0";  // "1": the deployed app never listens
  double ready_timeout = 10;
  std::string dev_services = "[]";  // the dev set's services (YAML flow list)
};

class PipelineTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    ::setenv("SLIPWAY_DNS_UPSTREAMS", "127.0.0.1:9", 1);
    load_busybox();
    repo_ = std::make_unique<TempDir>("slipway-repo");
    net_ = "pl" + std::to_string(getpid() % 100000);
    int x = 20 + (getpid() + 3) % 10, y = (getpid() / 10 + 97) % 250;
    subnet_ = "172." + std::to_string(x) + "." + std::to_string(y) + ".0/24";
    git({"init", "-q", "-b", "main"});
  }

  void TearDown() override {
    if (!IsSkipped()) {
      for (const auto& line : split_lines(slipway({"ps", "-aq"}).out)) slipway({"rm", "-f", line});
      slipway({"network", "rm", net_});
      for (int i = 0; i < 150 && !processes_containing(root()).empty(); ++i) usleep(20000);
    }
    RootTest::TearDown();
  }

  CommandResult git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", repo_->path(), "-c", "user.name=ci", "-c", "user.email=ci@example.test"});
    return run_command(args);
  }

  void write(const std::string& path, const std::string& text) {
    stdfs::create_directories(stdfs::path(repo_->path() + "/" + path).parent_path());
    std::ofstream(repo_->path() + "/" + path) << text;
  }

  std::string pipeline_file(const AppVariant& v) {
    return "app:\n"
           "  name: smoke\n"
           "  port: 8080\n"
           "  ready: {http: /index.html, timeout: " + std::to_string(v.ready_timeout) + "}\n"
           "  command: [sh, -c, 'if [ \"$BROKEN\" = 1 ]; then exec sleep 1000; fi; exec httpd -f -p 8080 -h /www']\n"
           "services:\n"
           "  dev: {network: host, services: " + v.dev_services + "}\n"
           "  prodlike: {network: " + net_ + ", subnet: " + subnet_ + ", domain: smoke.test, services: []}\n"
           "steps:\n"
           "  unit: {command: '" + v.unit + "'}\n"
           "  integration: {command: wget -qO- http://127.0.0.1:8080/index.html}\n"
           "  deploy: {env: {BROKEN: \"" + v.deploy_broken + "\"}}\n"
           "  live: {command: wget -qO- http://smoke:8080/index.html}\n";
  }

  // Commits the app in variant v; returns the commit id.
  std::string commit(const AppVariant& v) {
    write("Dockerfile", "FROM busybox\nRUN mkdir -p /www && echo " + v.page + " > /www/index.html\n");
    write(".slipway.yml", pipeline_file(v));
    git({"add", "-A"});
    git({"commit", "-q", "-m", "page " + v.page});
    auto head = git({"rev-parse", "HEAD"}).out;
    return head.substr(0, head.find('\n'));
  }

  CommandResult run_pipeline(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"pipeline", "run", "--repo", repo_->path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return slipway(args);
  }

  std::vector<std::string> run_dirs() {
    std::vector<std::string> dirs;
    for (auto& e : stdfs::directory_iterator(root() + "/pipelines/runs")) dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
  }

  static json summary(const std::string& run_dir) {
    std::ifstream in(run_dir + "/summary.json");
    return json::parse(in);
  }

  static json step(const json& s, const std::string& name) {
    for (const auto& st : s["steps"])
      if (st["name"] == name) return st;
    return json();
  }

  // Starts `slipway --root R --run-root RR args...` with its output discarded; returns its pid.
  pid_t spawn(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {slipway_binary(), "--root", root(), "--run-root", run_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    return pid;
  }

  // The summaries of finished runs, once there are `count` of them (or after 60 s).
  std::vector<json> wait_for_finished_runs(size_t count) {
    std::vector<json> done;
    for (int i = 0; i < 1200; ++i, usleep(50000)) {
      done.clear();
      if (!stdfs::exists(root() + "/pipelines/runs")) continue;
      for (const auto& dir : run_dirs()) {
        if (!stdfs::exists(dir + "/summary.json")) continue;
        json s = summary(dir);
        if (s["finished"].get<bool>()) done.push_back(s);
      }
      if (done.size() >= count) break;
    }
    return done;
  }

  std::string fetch_deployed_page() {
    return slipway({"run", "--rm", "--net", net_, "busybox", "wget", "-qO-", "http://smoke:8080/index.html"}).out;
  }

  std::unique_ptr<TempDir> repo_;
  std::string net_, subnet_;
};

TEST_F(PipelineTest, GreenRunDeploysWritesReportsAndReusesTheImage) {
  std::string commit_id = commit({});
  auto first = run_pipeline();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("passed"), std::string::npos) << first.err;
  std::string dir = run_dirs().back();
  json s = summary(dir);
  EXPECT_EQ(s["commit"], commit_id);
  EXPECT_EQ(s["image"], "smoke:" + commit_id);
  EXPECT_TRUE(s["passed"].get<bool>());
  for (const char* name : {"checkout", "build", "unit", "integration", "deploy", "live"})
    EXPECT_EQ(step(s, name)["status"], "passed") << name;
  EXPECT_TRUE(step(s, "push").is_null()) << "no push section, no push step";
  for (const char* f : {"junit.xml", "report.html", "live.log", "integration.log"})
    EXPECT_TRUE(stdfs::exists(dir + "/" + f)) << f;
  EXPECT_FALSE(stdfs::exists(dir + "/workspace")) << "the workspace (the checkout) is removed after the run";
  EXPECT_EQ(run_command({"grep", "-c", "v1", dir + "/live.log"}).out, "1\n");
  EXPECT_EQ(fetch_deployed_page(), "v1\n");

  // The same commit again: the image is reused, and the new deploy replaces the old one.
  size_t images_before = split_lines(slipway({"image", "ls"}).out).size();
  auto second = run_pipeline({"--rev", commit_id});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  json s2 = summary(run_dirs().back());
  EXPECT_NE(step(s2, "build")["message"].get<std::string>().find("reused"), std::string::npos);
  EXPECT_EQ(split_lines(slipway({"image", "ls"}).out).size(), images_before);
  auto running = split_lines(slipway({"ps", "-q"}).out);
  EXPECT_EQ(running.size(), 1u) << "one deployed app, nothing else";
  EXPECT_EQ(fetch_deployed_page(), "v1\n");

  auto ls = slipway({"pipeline", "ls"});
  EXPECT_EQ(split_lines(ls.out).size(), 3u) << ls.out;  // header and two runs
  EXPECT_NE(ls.out.find(commit_id.substr(0, 12)), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("passed"), std::string::npos) << ls.out;
  auto show = slipway({"pipeline", "show", "last"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("deploy: ok"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(run_dirs().back() + "/report.html"), std::string::npos) << show.out;
  EXPECT_EQ(slipway({"pipeline", "show", "nosuchrun"}).exit_code, 125);

  auto unknown_env = run_pipeline({"--env", "nosuchenv"});
  EXPECT_EQ(unknown_env.exit_code, 1);
  EXPECT_NE(step(summary(run_dirs().back()), "checkout")["message"].get<std::string>().find("nosuchenv"),
            std::string::npos);
}

TEST_F(PipelineTest, FailingUnitTestStopsTheChain) {
  commit({.page = "v1", .unit = "echo unit failed; exit 3"});
  auto r = run_pipeline();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("FAILED"), std::string::npos) << r.err;
  json s = summary(run_dirs().back());
  EXPECT_FALSE(s["passed"].get<bool>());
  EXPECT_EQ(step(s, "unit")["status"], "failed");
  EXPECT_EQ(step(s, "unit")["exit_code"], 3);
  for (const char* name : {"integration", "deploy", "live"}) {
    EXPECT_EQ(step(s, name)["status"], "skipped") << name;
    EXPECT_EQ(step(s, name)["message"], "unit failed") << name;
  }
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "") << "nothing deployed, nothing left";
  std::ifstream junit(run_dirs().back() + "/junit.xml");
  std::string xml((std::istreambuf_iterator<char>(junit)), {});
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("unit failed"), std::string::npos) << "the failing step's log is in the report";
}

TEST_F(PipelineTest, AServiceWithAHealthcheckIsWaitedForUntilHealthy) {
  std::string service =
      "[{name: cache, image: busybox, command: [sh, -c, 'sleep 0.5; touch /ok; exec sleep 1000'], "
      "healthcheck: {test: 'test -f /ok', interval: 0.1, start_period: 10, wait: 20}}]";
  // The unit test sees what only exists once the service is healthy.
  commit({.page = "v1", .unit = "true", .dev_services = service});
  auto r = run_pipeline();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(slipway({"inspect", "-f", "{{.State.Health.Status}}", "cache"}).out, "healthy\n");
  EXPECT_EQ(slipway({"rm", "-f", "cache"}).exit_code, 0);

  std::string sick = "[{name: cache, image: busybox, command: [sleep, '1000'], "
                     "healthcheck: {test: 'echo no db; false', interval: 0.1, retries: 2}}]";
  commit({.page = "v2", .dev_services = sick});
  auto bad = run_pipeline();
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  std::string message = step(summary(run_dirs().back()), "unit")["message"];
  EXPECT_NE(message.find("service cache: health check failed 2 times in a row: no db"), std::string::npos) << message;
  EXPECT_EQ(slipway({"rm", "-f", "cache"}).exit_code, 0);
}

TEST_F(PipelineTest, DeployThatNeverGetsReadyKeepsTheOldOneServing) {
  commit({.page = "v1"});
  ASSERT_EQ(run_pipeline().exit_code, 0);
  commit({.page = "v2", .deploy_broken = "1", .ready_timeout = 1.5});
  auto r = run_pipeline();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json s = summary(run_dirs().back());
  EXPECT_EQ(step(s, "integration")["status"], "passed");
  EXPECT_EQ(step(s, "deploy")["status"], "failed");
  EXPECT_NE(step(s, "deploy")["message"].get<std::string>().find("never got ready"), std::string::npos)
      << step(s, "deploy");
  EXPECT_EQ(step(s, "live")["status"], "skipped");
  EXPECT_EQ(fetch_deployed_page(), "v1\n") << "the previous build keeps serving";
  EXPECT_EQ(split_lines(slipway({"ps", "-q"}).out).size(), 1u) << "the broken build was removed";
}

TEST_F(PipelineTest, TwoPipelinesAtOnceBothPass) {
  std::string a = commit({.page = "va"});
  std::string b = commit({.page = "vb"});
  auto first = std::async(std::launch::async, [&] { return run_pipeline({"--rev", a}); });
  auto second = std::async(std::launch::async, [&] { return run_pipeline({"--rev", b}); });
  auto ra = first.get(), rb = second.get();
  EXPECT_EQ(ra.exit_code, 0) << ra.err;
  EXPECT_EQ(rb.exit_code, 0) << rb.err;
  std::string page = fetch_deployed_page();
  EXPECT_TRUE(page == "va\n" || page == "vb\n") << page;
  EXPECT_EQ(split_lines(slipway({"ps", "-q"}).out).size(), 1u) << "the later deploy replaced the earlier";
}

TEST_F(PipelineTest, SigkillOfTheRunnerThenGcLeavesNothing) {
  commit({.page = "v1", .unit = "sleep 60"});
  pid_t runner = fork();
  if (runner == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(slipway_binary().c_str(), "slipway", "--root", root().c_str(), "--run-root", run_root().c_str(),
          "pipeline", "run", "--repo", repo_->path().c_str(), nullptr);
    _exit(127);
  }
  bool unit_running = false;
  for (int i = 0; i < 600 && !unit_running; ++i) {
    usleep(50000);
    unit_running = slipway({"ps"}).out.find("-unit") != std::string::npos;
  }
  ASSERT_TRUE(unit_running) << "the unit test container never started";
  ::kill(runner, SIGKILL);
  ::waitpid(runner, nullptr, 0);
  // The kernel takes the runner's children, then their containers, down after it: wait for that.
  for (int i = 0; i < 250 && !slipway({"ps", "-q"}).out.empty(); ++i) usleep(20000);
  // What a runner killed at other moments leaves: a report half written, a run dir half made, a
  // snapshot half copied (each named with the dead runner's pid).
  std::string dead = std::to_string(runner);
  std::ofstream(run_dirs().back() + "/summary.json.tmp." + dead) << "{";
  std::string staged = root() + "/pipelines/runs/.20260101-000000000-abcdef." + dead;
  std::string copy = root() + "/pipelines/snapshots/0123abcd.tmp-" + dead;
  stdfs::create_directories(staged);
  stdfs::create_directories(copy + "/data");
  auto gc = slipway({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("marked killed pipeline run"), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("removed partial file summary.json.tmp." + dead), std::string::npos)
      << gc.out;
  EXPECT_FALSE(stdfs::exists(run_dirs().back() + "/summary.json.tmp." + dead));
  EXPECT_FALSE(stdfs::exists(staged));
  EXPECT_FALSE(stdfs::exists(copy));
  // The build's network DNS ends kDnsIdleExit (3 s) after its last container.
  for (int i = 0; i < 250 && !processes_containing(root()).empty(); ++i) usleep(20000);
  EXPECT_EQ(processes_containing(root()), std::vector<int>{});
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "");
  json s = summary(run_dirs().back());
  EXPECT_TRUE(s["finished"].get<bool>());
  EXPECT_FALSE(s["passed"].get<bool>());
  EXPECT_EQ(step(s, "unit")["status"], "failed");
  EXPECT_FALSE(stdfs::exists(run_dirs().back() + "/workspace"));

  commit({.page = "v2"});
  auto next = run_pipeline();
  EXPECT_EQ(next.exit_code, 0) << next.err;
}

TEST_F(PipelineTest, SigtermEndsTheRunWithReportsAndNothingLeft) {
  commit({.page = "v1", .unit = "sleep 60"});
  pid_t runner = spawn({"pipeline", "run", "--repo", repo_->path()});
  bool unit_running = false;
  for (int i = 0; i < 600 && !unit_running; ++i, usleep(50000))
    unit_running = slipway({"ps"}).out.find("-unit") != std::string::npos;
  ASSERT_TRUE(unit_running) << "the unit test container never started";
  ::kill(runner, SIGTERM);
  int status = -1;
  ASSERT_EQ(::waitpid(runner, &status, 0), runner);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 130) << status;
  json s = summary(run_dirs().back());
  EXPECT_TRUE(s["finished"].get<bool>());
  EXPECT_EQ(step(s, "unit")["status"], "failed");
  EXPECT_EQ(step(s, "unit")["message"], "interrupted by TERM");
  EXPECT_EQ(step(s, "deploy")["message"], "the run was interrupted");
  EXPECT_EQ(slipway({"ps", "-aq"}).out, "") << "no gc needed: the runner cleaned up";
}

TEST_F(PipelineTest, WatchRunsThePipelineForEachNewCommit) {
  std::string first = commit({.page = "v1"});
  pid_t watcher = spawn({"pipeline", "watch", "--repo", repo_->path(), "--branch", "main", "--interval", "0.1",
                         "--max-runs", "2"});
  ASSERT_EQ(wait_for_finished_runs(1).size(), 1u);
  std::string second = commit({.page = "v2"});
  auto runs = wait_for_finished_runs(2);
  int status = -1;
  ASSERT_EQ(::waitpid(watcher, &status, 0), watcher);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["commit"], first);
  EXPECT_EQ(runs[1]["commit"], second);
  EXPECT_EQ(runs[1]["branch"], "main");
  EXPECT_TRUE(runs[1]["passed"].get<bool>());
  EXPECT_EQ(fetch_deployed_page(), "v2\n");
}

TEST_F(PipelineTest, PostReceiveHookRunsThePipelineOnPush) {
  std::string id = commit({.page = "pushed"});
  TempDir server("slipway-bare");
  ASSERT_EQ(run_command({"git", "init", "-q", "--bare", "-b", "main", server.path()}).exit_code, 0);
  stdfs::create_symlink(source_dir() + "/scripts/post-receive", server.path() + "/hooks/post-receive");
  auto push = run_command({"git", "-C", repo_->path(), "push", "-q", server.path(), "main"}, "",
                          {"SLIPWAY=" + slipway_binary(), "SLIPWAY_ROOT=" + root(), "SLIPWAY_RUN_ROOT=" + run_root()});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("pipeline for main at " + id.substr(0, 12) + " started"), std::string::npos) << push.err;
  auto runs = wait_for_finished_runs(1);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0]["passed"].get<bool>()) << runs[0].dump(2);
  EXPECT_EQ(runs[0]["commit"], id);
  EXPECT_EQ(runs[0]["branch"], "main");
  EXPECT_EQ(fetch_deployed_page(), "pushed\n");
}

TEST_F(PipelineTest, MalformedPipelineFileAndBadFlagsGetClearErrors) {
  write("Dockerfile", "FROM busybox\n");
  write(".slipway.yml", "app:\n  name: smoke\n  comand: [true]\n");
  git({"add", "-A"});
  git({"commit", "-q", "-m", "typo"});
  auto r = run_pipeline();
  EXPECT_EQ(r.exit_code, 1);
  json s = summary(run_dirs().back());
  EXPECT_EQ(step(s, "checkout")["status"], "failed");
  std::string message = step(s, "checkout")["message"];
  EXPECT_NE(message.find(".slipway.yml:3:"), std::string::npos) << message;
  EXPECT_NE(message.find("comand"), std::string::npos) << message;

  auto bad_flag = run_pipeline({"--no-such-flag"});
  EXPECT_EQ(bad_flag.exit_code, 125);
  EXPECT_NE(bad_flag.err.find("no-such-flag"), std::string::npos) << bad_flag.err;
  auto missing = slipway({"pipeline", "run", "--repo", "/nonexistent/repo"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(step(summary(run_dirs().back()), "checkout")["status"], "failed");
  auto unknown_rev = run_pipeline({"--rev", "deadbeef"});
  EXPECT_EQ(unknown_rev.exit_code, 1);
  EXPECT_NE(step(summary(run_dirs().back()), "checkout")["message"].get<std::string>().find("deadbeef"),
            std::string::npos);
}

}  // namespace
}  // namespace slipway::testing
