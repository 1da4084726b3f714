// Egress through the slipway binary, against a hermetic stand-in for the internet. Two network
// namespaces made by the test: "host" (where slipway runs, makes its bridges and its nftables
// table) and "internet" (198.51.100.2, an HTTP server), joined by a veth. The internet has no route
// back to any container subnet, so an answer proves source NAT. Each test runs twice: on a plain
// host, and on one where Docker left its rules (FORWARD policy DROP, DOCKER-USER, br_netfilter on).
// No test traffic leaves the machine, and the real host's firewall is never touched. (busybox's
// wget -T crashes when a connection fails, so time limits come from `timeout`, under a shell that
// stays PID 1: busybox's timeout execs the command in its own process, and PID 1 ignores SIGTERM.)
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "netns/netns_fd.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

constexpr const char* kHostAddress = "198.51.100.1";
constexpr const char* kInternetAddress = "198.51.100.2";
constexpr const char* kGreeting = "hello from the internet\n";

class EgressTest : public RootTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    ::setenv("SLIPWAY_DNS_UPSTREAMS", "127.0.0.1:9", 1);  // no query leaves the machine
    load_busybox();
    std::string id = std::to_string(::getpid());
    host_ns_ = "slwe-host-" + id;
    internet_ns_ = "slwe-inet-" + id;
    auto made = sh(fmt::format(
        "set -e; ip netns add {h}; ip netns add {i}; ip -n {h} link set lo up; ip -n {i} link set lo up;"
        "ip -n {h} link add up0 type veth peer name eth0 netns {i};"
        "ip -n {h} addr add {ha}/24 dev up0; ip -n {h} link set up0 up;"
        "ip -n {i} addr add {ia}/24 dev eth0; ip -n {i} link set eth0 up",
        fmt::arg("h", host_ns_), fmt::arg("i", internet_ns_), fmt::arg("ha", kHostAddress),
        fmt::arg("ia", kInternetAddress)));
    ASSERT_EQ(made.exit_code, 0) << made.err;
    namespaces_made_ = true;
    if (GetParam()) {
      // What dockerd leaves on a host with iptables-nft, and br_netfilter sending bridged traffic
      // through those chains.
      auto docker = in_host(
          "sysctl -qw net.bridge.bridge-nf-call-iptables=1 && iptables -P FORWARD DROP && "
          "iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN && iptables -N DOCKER-FORWARD && "
          "iptables -N DOCKER-ISOLATION-STAGE-1 && iptables -A FORWARD -j DOCKER-USER && "
          "iptables -A FORWARD -j DOCKER-FORWARD && iptables -A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1 && "
          "iptables -t nat -N DOCKER && iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE");
      ASSERT_EQ(docker.exit_code, 0) << docker.err;
    }
    UniqueFd internet(::open(("/run/netns/" + internet_ns_).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(internet.valid());
    auto server = netns::in_netns(internet.get(), [&]() -> Result<std::unique_ptr<FakeHttpServer>> {
      return std::make_unique<FakeHttpServer>(
          [](const FakeRequest&) { return FakeResponse{200, {{"Content-Type", "text/plain"}}, kGreeting}; },
          INADDR_ANY);
    });
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    url_ = fmt::format("http://{}:{}/hello", kInternetAddress, server_->port());
  }

  void TearDown() override {
    if (namespaces_made_) {
      for (const auto& n : networks_) host_slipway({"network", "rm", n});
      host_slipway({"network", "rm", "slipway"});  // the default network, made by builds
      // A network's DNS process ends once the network is gone.
      for (int i = 0; i < 150 && !processes_containing(root()).empty(); ++i) usleep(20000);
      // The table went with the last network; Docker's rules carry nothing of slipway's.
      EXPECT_EQ(in_host("nft list tables").out.find("slipway"), std::string::npos);
      EXPECT_EQ(in_host("iptables -S").out.find("slipway"), std::string::npos);
      server_.reset();
      sh(fmt::format("ip netns del {}; ip netns del {}", host_ns_, internet_ns_));
    }
    RootTest::TearDown();
  }

  CommandResult sh(const std::string& script) { return run_command({"sh", "-c", script}); }
  CommandResult in_host(const std::string& script) {
    return run_command({"ip", "netns", "exec", host_ns_, "sh", "-c", script});
  }
  CommandResult in_internet(const std::vector<std::string>& argv) {
    std::vector<std::string> full = {"ip", "netns", "exec", internet_ns_};
    full.insert(full.end(), argv.begin(), argv.end());
    return run_command(full);
  }
  // slipway with the test's root, in the stand-in host's network namespace only (nsenter keeps
  // the mount namespace, so run-root state is shared between calls as on a real host).
  CommandResult host_slipway(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv = {"nsenter", "--net=/run/netns/" + host_ns_, slipway_binary(), "--root",
                                     root(),    "--run-root",                    run_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input);
  }
  std::string make_network(const std::string& name, const std::string& subnet, bool internal = false) {
    std::vector<std::string> args = {"network", "create", name, "--subnet", subnet};
    if (internal) args.push_back("--internal");
    auto r = host_slipway(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    networks_.push_back(name);
    return name;
  }
  int internet_requests() { return static_cast<int>(server_->requests().size()); }

  std::string host_ns_, internet_ns_, url_;
  bool namespaces_made_ = false;
  std::unique_ptr<FakeHttpServer> server_;
  std::vector<std::string> networks_;
};

TEST_P(EgressTest, ContainerOnABridgeReachesTheInternetThroughNat) {
  make_network("out", "10.201.0.0/24");
  auto r = host_slipway({"run", "--rm", "--net", "out", "busybox", "sh", "-c", "timeout 10 wget -q -O - " + url_ + "; exit $?"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kGreeting);
  auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].peer, kHostAddress);  // masqueraded: the internet never saw 10.201.0.x
}

TEST_P(EgressTest, InternalNetworkReachesItsOwnContainersButNotTheInternet) {
  make_network("inside", "10.202.0.0/24", true);
  auto server = host_slipway({"run", "-d", "--name", "web", "--net", "inside", "busybox", "sh", "-c",
                              "echo inside > /index.html && exec httpd -f -p 80 -h /"});
  ASSERT_EQ(server.exit_code, 0) << server.err;
  auto local = host_slipway({"run", "--rm", "--net", "inside", "busybox", "sh", "-c",
                             "timeout 10 wget -q -O - http://web/index.html; exit $?"});
  EXPECT_EQ(local.exit_code, 0) << local.err;  // bridged, also through Docker's DROP with br_netfilter
  EXPECT_EQ(local.out, "inside\n");
  auto out = host_slipway({"run", "--rm", "--net", "inside", "busybox", "sh", "-c", "timeout 2 wget -q -O - " + url_ + "; exit $?"});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_EQ(internet_requests(), 0);
  host_slipway({"rm", "-f", "web"});
}

TEST_P(EgressTest, DefaultBuildFetchesFromTheInternetAndNoneCannot) {
  TempDir context("slipway-egress-build");
  ASSERT_TRUE(fs::write_file(context.path() + "/Dockerfile",
                             fmt::format("FROM busybox\nRUN timeout 10 wget -q -O /fetched {}\n", url_), 0644));
  auto built = host_slipway({"build", "--pull", "never", "-t", "fetched", context.path()});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  auto content = host_slipway({"run", "--rm", "--net", "none", "fetched", "cat", "/fetched"});
  EXPECT_EQ(content.out, kGreeting);
  EXPECT_EQ(internet_requests(), 1);

  auto offline = host_slipway({"build", "--pull", "never", "--network", "none", "--no-cache", context.path()});
  EXPECT_NE(offline.exit_code, 0);
  EXPECT_EQ(internet_requests(), 1);
}

TEST_P(EgressTest, PublishedPortIsReachableFromAnotherHost) {
  make_network("pub", "10.203.0.0/24");
  auto server = host_slipway({"run", "-d", "--name", "site", "--net", "pub", "-p", "8080:80", "busybox", "sh", "-c",
                              "echo published > /index.html && exec httpd -f -p 80 -h /"});
  ASSERT_EQ(server.exit_code, 0) << server.err;
  CommandResult got;
  for (int i = 0; i < 50; ++i) {  // httpd binds just after the container starts
    got = in_internet({"busybox", "timeout", "2", "wget", "-q", "-O", "-", fmt::format("http://{}:8080/index.html", kHostAddress)});
    if (got.exit_code == 0) break;
    usleep(100000);
  }
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(got.out, "published\n");
  host_slipway({"rm", "-f", "site"});
}

INSTANTIATE_TEST_SUITE_P(Hosts, EgressTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "DockerRules" : "PlainHost"; });

}  // namespace
}  // namespace slipway::testing
