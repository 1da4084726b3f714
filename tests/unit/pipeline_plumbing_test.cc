// The pure pieces under the pipeline engine: `run` arguments from RunOptions, service containers
// from a service set, readiness probes against sockets of this test, and run dirs that a killed
// runner was still making.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_run.h"
#include "pipeline/readiness.h"
#include "pipeline/service_sets.h"
#include "pipeline/slipway_process.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

TEST(RunArguments, EveryOptionBecomesItsFlagAndTheCommandComesLast) {
  RunOptions o;
  o.image = "app:1";
  o.command = {"sh", "-c", "echo --rm"};
  o.name = "n";
  o.remove = true;
  o.detach = true;
  o.env = {"A=1", "B=2"};
  o.volumes = {"/s:/d:O"};
  o.entrypoint = "sleep";
  o.net = "container:holder";
  o.forwards = {"127.0.0.1:6379=127.0.0.1:6379"};
  o.timeout_seconds = 1.5;
  o.storage_opts = {"size=1g"};
  o.pull = "always";
  o.env_files = {"/ci.env"};
  o.add_hosts = {"db:10.0.0.5"};
  std::vector<std::string> want = {"run", "--rm", "--detach", "--name", "n", "--env-file", "/ci.env",
                                   "--env", "A=1", "--env", "B=2", "--add-host", "db:10.0.0.5", "--volume",
                                   "/s:/d:O", "--entrypoint", "sleep", "--timeout", "1.5",
                                   "--net", "container:holder", "--forward", "127.0.0.1:6379=127.0.0.1:6379",
                                   "--storage-opt", "size=1g", "--pull", "always",
                                   "app:1", "sh", "-c", "echo --rm"};
  EXPECT_EQ(run_arguments(o), want);
}

TEST(RunArguments, DefaultsAddNothingAndARootfsEndsWithDoubleDash) {
  RunOptions o;
  o.rootfs = "/r";
  o.command = {"true"};
  EXPECT_EQ(run_arguments(o), (std::vector<std::string>{"run", "--net", "none", "--rootfs", "/r", "--", "true"}));
}

TEST(ServiceSets, ServiceContainerOptions) {
  ServiceSetSpec set;
  set.network = "prodlike";
  ServiceSpec s;
  s.name = "redis-a-1";
  s.image = "slipway/redis";
  s.command = {"redis-server"};
  s.env = {{"K", "V"}};
  s.snapshots = {{"snap/redis", "/data"}, {"/abs/snap", "/more"}};
  RunOptions o = service_run_options(set, s, "/base");
  EXPECT_EQ(o.name, "redis-a-1");
  EXPECT_EQ(o.hostname, "redis-a-1");
  EXPECT_EQ(o.net, "prodlike");
  EXPECT_EQ(o.image, "slipway/redis");
  EXPECT_EQ(o.env, std::vector<std::string>{"K=V"});
  EXPECT_EQ(o.volumes, (std::vector<std::string>{"/base/snap/redis:/data:O", "/abs/snap:/more:O"}));
}

TEST(ServiceSets, AHealthcheckBecomesDockersHealthFlags) {
  ServiceSpec s;
  s.name = "db";
  s.image = "busybox";
  s.healthcheck = HealthSpec{.test = "pg_isready", .interval_seconds = 0.25, .timeout_seconds = 2, .retries = 4,
                             .start_period_seconds = 1.5, .wait_seconds = 60};
  RunOptions o = service_run_options(ServiceSetSpec{}, s, "/base");
  EXPECT_EQ(o.health_cmd, "pg_isready");
  EXPECT_EQ(o.health_interval, "250ms");
  EXPECT_EQ(o.health_timeout, "2000ms");
  EXPECT_EQ(o.health_retries, 4);
  EXPECT_EQ(o.health_start_period, "1500ms");
  EXPECT_EQ(o.health_start_interval, "250ms") << "no slower while starting";
  auto args = run_arguments(o);
  EXPECT_NE(std::find(args.begin(), args.end(), "--health-cmd"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--health-retries"), args.end());
}

TEST(ServiceSets, ProbeDefaultsToTcpOnThePort) {
  ServiceSpec s;
  EXPECT_FALSE(service_probe(s).has_value());
  s.port = 6379;
  ASSERT_TRUE(service_probe(s).has_value());
  EXPECT_EQ(service_probe(s)->port, 6379);
  EXPECT_TRUE(service_probe(s)->http_path.empty());
  s.ready = ReadinessProbe{.port = 0, .http_path = "/health", .timeout_seconds = 3, .interval_seconds = 0.1};
  EXPECT_EQ(service_probe(s)->port, 6379);
  EXPECT_EQ(service_probe(s)->http_path, "/health");
}

// A loopback listener answering each connection with `reply`; port() is where it listens.
class Listener {
 public:
  explicit Listener(std::string reply) : reply_(std::move(reply)) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a = testing::loopback(0);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) || ::listen(fd_.get(), 8))
      abort();
    port_ = testing::port_of(fd_.get());
    thread_ = std::thread([this] {
      while (!stop_) {
        UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c || stop_) continue;
        char buf[512];
        (void)!::recv(c.get(), buf, sizeof buf, MSG_DONTWAIT);
        (void)!::send(c.get(), reply_.data(), reply_.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~Listener() {
    stop_ = true;
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string reply_;
  UniqueFd fd_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int closed_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = testing::loopback(0);
  ::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  return testing::port_of(fd.get());  // bound, never listening: connects are refused
}

TEST(Readiness, TcpAndHttpProbes) {
  Listener ok("HTTP/1.0 200 OK\r\n\r\nfine");
  Listener broken("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  EXPECT_TRUE(probe_once({.port = ok.port(), .http_path = ""}, "127.0.0.1"));
  EXPECT_TRUE(probe_once({.port = ok.port(), .http_path = "/healthz"}, "127.0.0.1"));
  auto down = probe_once({.port = broken.port(), .http_path = "/"}, "127.0.0.1");
  ASSERT_FALSE(down);
  EXPECT_NE(down.error().message().find("503"), std::string::npos) << down.error().message();
  auto refused = probe_once({.port = closed_port(), .http_path = ""}, "127.0.0.1");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("refused"), std::string::npos) << refused.error().message();
}

TEST(Readiness, WaitStopsAtTheDeadlineOrWhenTheContainerDies) {
  ReadinessProbe p{.port = closed_port(), .http_path = "", .timeout_seconds = 0.2, .interval_seconds = 0.01};
  auto timed_out = wait_until_ready(p, "127.0.0.1", -1, [] { return true; });
  ASSERT_FALSE(timed_out);
  EXPECT_NE(timed_out.error().message().find("not ready after 0.2 s"), std::string::npos);
  auto died = wait_until_ready(p, "127.0.0.1", -1, [] { return false; });
  ASSERT_FALSE(died);
  EXPECT_NE(died.error().message().find("exited before it was ready"), std::string::npos);
  Listener ok("HTTP/1.0 204 No Content\r\n\r\n");
  p.port = ok.port();
  p.http_path = "/";
  EXPECT_TRUE(wait_until_ready(p, "127.0.0.1", -1, [] { return true; }));
}

// A run dir is filled under .<id>.<pid> and renamed: `pipeline ls` never shows one half made, and
// gc removes those of a runner that was killed while making it.
TEST(RunDirs, StagedDirsOfDeadRunnersGoAndNoneIsListed) {
  testing::TempDir root("slipway-runs");
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  RunRecord record;
  record.id = "20260101-000000000-aaaaaa";
  record.finished = true;
  std::string killed = staging_run_dir(root.path(), record.id, dead);
  std::string live = staging_run_dir(root.path(), "20260101-000000001-bbbbbb", ::getpid());
  std::string done = fs::join(pipeline_runs_dir(root.path()), record.id);
  for (const auto& dir : {killed, live, done}) {
    ASSERT_TRUE(fs::make_dirs(dir));
    ASSERT_TRUE(fs::write_file(fs::join(dir, "summary.json"), summary_json(record)));
  }
  auto listed = list_runs(root.path());
  ASSERT_TRUE(listed) << listed.error().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().dir, done);
  auto removed = remove_staged_runs(root.path());
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed,
            std::vector<std::string>{".20260101-000000000-aaaaaa." + std::to_string(dead)});
  EXPECT_FALSE(fs::exists(killed));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(done));
}

}  // namespace
}  // namespace slipway::pipeline
