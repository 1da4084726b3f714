// Networks against a real kernel, inside a private network namespace standing in for the host
// (so the host's routes and links are never touched): the overlap check reads real routes,
// ensure_bridge is idempotent and race-safe across processes, network rm deletes the bridge.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/unique_fd.h"
#include "netns/netlink.h"
#include "netns/netns_fd.h"
#include "netns/network_store.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

Cidr cidr(std::string_view s) {
  return *parse_cidr(s);
}

class NetworkStoreRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (network namespaces, links); run as root";
    auto ns = create_netns();
    ASSERT_TRUE(ns) << ns.error().message();
    ns_ = std::move(*ns);
  }
  std::string name(std::string_view suffix) const {
    return fmt::format("slwt{}{}", ::getpid(), suffix);
  }

  testing::TempDir root_{"slipway-netns-root"};
  UniqueFd ns_;
};

TEST_F(NetworkStoreRootTest, SubnetOverlappingARealRouteIsRefused) {
  const std::string link = name("d");
  auto st = in_netns(ns_.get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    SLW_TRY(testing::create_plain_link(nl, link));  // carries an address and its route
    SLW_TRY(nl.link_up(link));
    SLW_TRY(nl.add_address(link, *parse_ipv4("10.123.0.1"), 24));

    NetworkStore store(root_.path());  // reads the routes of this (private) namespace
    NetworkOptions o;
    o.subnet = cidr("10.123.0.0/16");
    auto refused = store.create("t1", o);
    EXPECT_FALSE(refused);
    if (!refused) {
      EXPECT_EQ(refused.error().message(),
                fmt::format("network t1: subnet 10.123.0.0/16 overlaps the host route "
                            "10.123.0.0/24 dev {}",
                            link));
    }
    o.subnet = cidr("10.124.0.0/16");
    auto accepted = store.create("t2", o);
    EXPECT_TRUE(accepted) << (accepted ? "" : accepted.error().message());
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetworkStoreRootTest, EnsureBridgeRacingProcessesAllSucceed) {
  NetworkOptions o;
  o.subnet = cidr("10.125.0.0/24");
  o.bridge = name("r");
  auto net = in_netns(ns_.get(), [&] { return NetworkStore(root_.path()).create("race", o); });
  ASSERT_TRUE(net) << net.error().message();

  constexpr int kChildren = 6;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      if (::setns(ns_.get(), CLONE_NEWNET) < 0) ::_exit(2);
      char c;
      (void)!::read(go[0], &c, 1);
      auto st = ensure_bridge(*net);
      if (!st) std::fprintf(stderr, "child %d: %s\n", i, st.error().message().c_str());
      ::_exit(st ? 0 : 1);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
  }

  auto st = in_netns(ns_.get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    LinkInfo br = SLW_TRY(nl.link(net->bridge));
    EXPECT_EQ(br.kind, "bridge");
    EXPECT_TRUE(br.up);
    auto addrs = SLW_TRY(nl.addresses(net->bridge));
    EXPECT_EQ(addrs, (std::vector<std::pair<Ipv4, int>>{{net->gateway, 24}}));
    auto t0 = std::chrono::steady_clock::now();
    SLW_TRY(ensure_bridge(*net));  // and once more, on the fast path
    std::chrono::duration<double, std::milli> fast = std::chrono::steady_clock::now() - t0;
    std::printf("[ TIMING   ] ensure_bridge on an existing bridge: %.3f ms\n", fast.count());

    NetworkStore store(root_.path());
    SLW_TRY(store.remove("race"));
    EXPECT_FALSE(SLW_TRY(nl.link_exists(net->bridge)));
    EXPECT_FALSE(store.get("race"));
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetworkStoreRootTest, EnsureBridgeRefusesAForeignLinkOfThatName) {
  NetworkOptions o;
  o.subnet = cidr("10.126.0.0/24");
  o.bridge = name("f");
  auto st = in_netns(ns_.get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    SLW_TRY(testing::create_plain_link(nl, *o.bridge));
    Network net = SLW_TRY(NetworkStore(root_.path()).create("foreign", o));
    auto refused = ensure_bridge(net);
    EXPECT_FALSE(refused);
    if (!refused) {
      EXPECT_NE(refused.error().message().find(
                    fmt::format("set up bridge {} of network foreign: create bridge {}: a link "
                                "of that name exists and is not a bridge",
                                *o.bridge, *o.bridge)),
                std::string::npos)
          << refused.error().message();
    }
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetworkStoreRootTest, EnsureBridgeAddsTheGatewayToAStaleBridge) {
  NetworkOptions o;
  o.subnet = cidr("10.128.0.0/24");
  o.bridge = name("s");
  auto st = in_netns(ns_.get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    // Left up by an earlier network of the same name with another subnet.
    SLW_TRY(nl.create_bridge(*o.bridge, 1500));
    SLW_TRY(nl.add_address(*o.bridge, *parse_ipv4("10.127.0.1"), 24));
    SLW_TRY(nl.link_up(*o.bridge));
    Network net = SLW_TRY(NetworkStore(root_.path()).create("stale", o));
    SLW_TRY(ensure_bridge(net));
    auto addrs = SLW_TRY(nl.addresses(*o.bridge));
    EXPECT_NE(std::find(addrs.begin(), addrs.end(), std::pair<Ipv4, int>{net.gateway, 24}),
              addrs.end());
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

}  // namespace
}  // namespace slipway::netns
