// The service DNS as containers see it: the server's sockets live in a network namespace this
// test creates (on 127.0.0.77:53 there), its thread and its upstream stay in the host's, and
// busybox nslookup run inside the namespace gets names, aliases, the search-domain form,
// NXDOMAIN, and an outside name relayed from a fake upstream on the host's 127.0.0.1.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "netns/dns_message.h"
#include "netns/dns_server.h"
#include "netns/netns_fd.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::loopback;
using testing::make_test_netns;
using testing::port_of;
using testing::run_in_netns;

constexpr const char* kBusybox = "/bin/busybox";
constexpr Ipv4 kServerAddress{0x7f00004d};  // 127.0.0.77, inside the test namespace

// A resolver for "the outside world" on the host's 127.0.0.1 (UDP): A -> 192.0.2.1 (TEST-NET-1),
// anything else -> empty NOERROR.
class FakeUpstream {
 public:
  FakeUpstream() {
    sock_ = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa = loopback(0);
    ::bind(sock_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    port_ = port_of(sock_.get());
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{sock_.get(), POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        std::vector<uint8_t> buf(65535);
        sockaddr_in from{};
        socklen_t from_len = sizeof from;
        ssize_t n = ::recvfrom(sock_.get(), buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
        if (n <= 0) continue;
        buf.resize(static_cast<size_t>(n));
        auto q = parse_dns_message(buf);
        if (!q || q->questions.empty()) continue;
        ++queries_;
        DnsMessage r = make_dns_response(*q, dns::kNoError);
        if (q->questions[0].type == dns::kTypeA)
          r.answers.push_back(dns_a_record(q->questions[0].name, Ipv4{0xc0000201}, 60));
        auto wire = build_dns_message(r);
        ::sendto(sock_.get(), wire->data(), wire->size(), 0, reinterpret_cast<sockaddr*>(&from),
                 from_len);
      }
    });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
  }
  DnsUpstream address() const { return {"127.0.0.1", port_}; }
  int queries() const { return queries_; }

 private:
  UniqueFd sock_;
  uint16_t port_ = 0;
  std::atomic<int> queries_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class DnsNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (creates a network namespace)";
    if (::access(kBusybox, X_OK) != 0) GTEST_SKIP() << "needs " << kBusybox << " (busybox-static)";
    auto ns = make_test_netns();
    ASSERT_TRUE(ns) << ns.error().message();
    ns_ = std::move(*ns);
    DnsServerConfig config;
    config.listen_address = kServerAddress;
    config.listen_port = 53;
    config.listen_netns_fd = ns_.get();
    config.zone.domain = "ci.slipway";
    config.zone.resolve = [](std::string_view fqdn) -> std::optional<std::vector<Ipv4>> {
      static const std::map<std::string, std::vector<Ipv4>, std::less<>> names = {
          {"mongodb-cluster-a-node-1.ci.slipway", {Ipv4{0x0a580005}}},  // 10.88.0.5
          {"mongo.ci.slipway", {Ipv4{0x0a580005}}},
          {"web.ci.slipway", {Ipv4{0x0a580006}}},
      };
      auto it = names.find(fqdn);
      if (it == names.end()) return std::nullopt;
      return it->second;
    };
    config.upstreams = {upstream_.address()};
    config.upstream_timeout = 1000ms;
    auto server = DnsServer::start(std::move(config));
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
  }

  testing::CommandResult nslookup(const std::string& name) {
    return run_in_netns(ns_.get(), {kBusybox, "nslookup", name, kServerAddress.to_string()});
  }

  FakeUpstream upstream_;
  UniqueFd ns_;
  std::unique_ptr<DnsServer> server_;
};

TEST_F(DnsNetnsTest, NslookupInsideTheNamespaceResolvesNamesAndAliases) {
  for (auto& [name, address] :
       std::vector<std::pair<std::string, std::string>>{{"mongodb-cluster-a-node-1", "10.88.0.5"},
                                                        {"mongo", "10.88.0.5"},
                                                        {"web.ci.slipway", "10.88.0.6"},
                                                        {"WEB.CI.Slipway", "10.88.0.6"}}) {
    auto r = nslookup(name);
    EXPECT_EQ(r.exit_code, 0) << name << ":\n" << r.out;
    EXPECT_NE(r.out.find("Address: " + address), std::string::npos) << name << ":\n" << r.out;
  }
  EXPECT_EQ(upstream_.queries(), 0) << "local names never go upstream";
}

TEST_F(DnsNetnsTest, UnknownNameIsNxdomain) {
  auto r = nslookup("nothere.ci.slipway");
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("NXDOMAIN"), std::string::npos) << r.out;
}

TEST_F(DnsNetnsTest, OutsideNameIsRelayedFromTheHostsResolver) {
  // The namespace has only lo: the answer can only come through the server, whose thread and
  // upstream socket are in the host's namespace, where the fake upstream listens.
  auto r = nslookup("outside.example");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Address: 192.0.2.1"), std::string::npos) << r.out;
  EXPECT_GE(upstream_.queries(), 1);
  EXPECT_GE(server_->stats().forwarded, 1u);
}

TEST_F(DnsNetnsTest, TheServerIsNotReachableFromTheHost) {
  auto r = testing::run_command({kBusybox, "nslookup", "mongo", kServerAddress.to_string()});
  EXPECT_EQ(r.out.find("10.88.0.5"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace slipway::netns
