// Netlink and namespace helpers against the real kernel, each test inside its own new network
// namespace (so nothing on the host is touched and everything vanishes with the fd): in_netns,
// bridges, links, addresses, routes, the kernel's refusals as one-line errors.
#include <gtest/gtest.h>
#include <linux/if.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "base/unique_fd.h"
#include "netns/netlink.h"
#include "netns/netns_fd.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

Ipv4 ip(std::string_view s) {
  return *parse_ipv4(s);
}
Cidr cidr(std::string_view s) {
  return *parse_cidr(s);
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (network namespaces, links); run as root";
    auto ns = create_netns();
    ASSERT_TRUE(ns) << ns.error().message();
    ns_ = std::move(*ns);
  }

  // Runs f with a Netlink connection inside this test's namespace.
  template <class F>
  auto in_ns(F f) {
    return in_netns(ns_.get(), [&]() -> std::invoke_result_t<F&, Netlink&> {
      Netlink nl = SLW_TRY(Netlink::open());
      return f(nl);
    });
  }

  UniqueFd ns_;
};

TEST_F(NetlinkTest, InNetnsRunsThereAndLeavesTheCallerWhereItWas) {
  auto before = current_netns();
  ASSERT_TRUE(before);
  auto inside = in_netns(ns_.get(), []() { return current_netns(); });
  ASSERT_TRUE(inside) << inside.error().message();
  EXPECT_TRUE(*same_netns(inside->get(), ns_.get()));
  EXPECT_FALSE(*same_netns(before->get(), ns_.get()));
  auto after = current_netns();
  ASSERT_TRUE(after);
  EXPECT_TRUE(*same_netns(before->get(), after->get()));
  auto mine = open_netns(::getpid());
  ASSERT_TRUE(mine) << mine.error().message();
  EXPECT_TRUE(*same_netns(mine->get(), before->get()));
}

TEST_F(NetlinkTest, InNetnsReportsBadFdsPidsAndExceptions) {
  auto bad = in_netns(STDIN_FILENO, []() -> Status { return {}; });
  if (bad) GTEST_FAIL() << "setns on stdin succeeded";
  EXPECT_NE(bad.error().message().find("setns"), std::string::npos) << bad.error().message();
  auto thrown = in_netns(ns_.get(), []() -> Status { throw std::runtime_error("boom"); });
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().message(), "in network namespace: boom");
  auto nopid = open_netns(0);
  ASSERT_FALSE(nopid);
  auto gone = open_netns(999999999);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message().find("/proc/999999999/ns/net"), std::string::npos);
}

TEST_F(NetlinkTest, AConnectionOpenedInANamespaceStaysThere) {
  auto nl = in_netns(ns_.get(), []() { return Netlink::open(); });
  ASSERT_TRUE(nl) << nl.error().message();
  // Used from this (host) thread, it still changes the namespace it was opened in.
  std::string name = fmt::format("slwt{}s", ::getpid());
  auto made = testing::create_plain_link(*nl, name);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_TRUE(*nl->link_exists(name));
  auto host = Netlink::open();
  ASSERT_TRUE(host);
  EXPECT_FALSE(*host->link_exists(name));
}

TEST_F(NetlinkTest, BridgeCreationIsIdempotentAndChecksTheKind) {
  auto st = in_ns([](Netlink& nl) -> Status {
    SLW_TRY(nl.create_bridge("slwtbr", 1400));
    SLW_TRY(nl.create_bridge("slwtbr", 1400));  // again: fine
    LinkInfo br = SLW_TRY(nl.link("slwtbr"));
    EXPECT_EQ(br.kind, "bridge");
    EXPECT_EQ(br.mtu, 1400);
    EXPECT_FALSE(br.up);
    std::string kind = SLW_TRY(testing::create_plain_link(nl, "slwtdummy"));
    auto clash = nl.create_bridge("slwtdummy", 1500);
    EXPECT_FALSE(clash);
    if (!clash) {
      EXPECT_EQ(clash.error().message(),
                fmt::format("create bridge slwtdummy: a link of that name exists and is not a "
                            "bridge (kind \"{}\")",
                            kind));
    }
    auto dup = testing::create_plain_link(nl, "slwtdummy");  // add_link says why it refused
    EXPECT_FALSE(dup);
    if (!dup) {
      EXPECT_EQ(dup.error().code(), EEXIST);
    }
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetlinkTest, LinkStateMtuAddressesAndRoutes) {
  auto st = in_ns([](Netlink& nl) -> Status {
    std::string kind = SLW_TRY(testing::create_plain_link(nl, "slwtd0"));
    SLW_TRY(nl.set_link("slwtd0", true, 1280));  // up and MTU in one request
    LinkInfo d = SLW_TRY(nl.link("slwtd0"));
    EXPECT_TRUE(d.up);
    EXPECT_EQ(d.mtu, 1280);
    EXPECT_EQ(d.kind, kind);

    SLW_TRY(nl.add_address("slwtd0", ip("10.99.0.1"), 24));
    SLW_TRY(nl.add_address("slwtd0", ip("10.99.0.1"), 24));  // same again: fine
    auto addrs = SLW_TRY(nl.addresses("slwtd0"));
    EXPECT_EQ(addrs, (std::vector<std::pair<Ipv4, int>>{{ip("10.99.0.1"), 24}}));

    SLW_TRY(nl.add_default_route(ip("10.99.0.254")));
    auto routes = SLW_TRY(nl.routes());
    auto has = [&](std::string_view dst, std::string_view dev) {
      return std::any_of(routes.begin(), routes.end(), [&](const Ipv4Route& r) {
        return r.destination == cidr(dst) && r.ifname == dev;
      });
    };
    EXPECT_TRUE(has("10.99.0.0/24", "slwtd0"));  // connected route of the address
    EXPECT_TRUE(has("0.0.0.0/0", "slwtd0"));
    for (const Ipv4Route& r : routes) {
      if (r.destination.prefix == 0) {
        EXPECT_EQ(r.gateway, ip("10.99.0.254"));
      } else if (r.destination == cidr("10.99.0.0/24")) {
        EXPECT_EQ(r.gateway, std::nullopt);  // a device route: no next hop
      }
    }

    auto links = SLW_TRY(nl.links());
    auto listed = [&](std::string_view name) {
      return std::any_of(links.begin(), links.end(),
                         [&](const LinkInfo& l) { return l.name == name; });
    };
    EXPECT_TRUE(listed("slwtd0"));
    EXPECT_TRUE(listed("lo"));
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetlinkTest, PrimaryAddressIsTheFirstIpv4AddressOrNone) {
  auto st = in_ns([](Netlink& nl) -> Status {
    SLW_TRY(testing::create_plain_link(nl, "slwtd1"));
    EXPECT_EQ(SLW_TRY(nl.primary_address("slwtd1")), std::nullopt);
    SLW_TRY(nl.add_address("slwtd1", ip("10.98.0.1"), 16));
    SLW_TRY(nl.add_address("slwtd1", ip("10.97.0.1"), 24));
    EXPECT_EQ(SLW_TRY(nl.primary_address("slwtd1")), std::make_pair(ip("10.98.0.1"), 16));
    EXPECT_FALSE(nl.primary_address("nosuchlink0"));
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetlinkTest, KernelRefusalsBecomeOneLineErrors) {
  auto st = in_ns([](Netlink& nl) -> Status {
    auto route = nl.add_default_route(ip("10.77.0.1"));
    EXPECT_FALSE(route);
    if (!route) {
      EXPECT_EQ(route.error().code(), ENETUNREACH);
      EXPECT_TRUE(route.error().message().starts_with(
          "add default route via 10.77.0.1: Network is unreachable"))
          << route.error().message();
    }
    auto missing = nl.link_up("slwtnone");
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_EQ(missing.error().code(), ENODEV);
      EXPECT_TRUE(missing.error().message().starts_with("bring up link slwtnone: No such device"))
          << missing.error().message();
    }
    auto addr = nl.add_address("slwtnone", ip("10.1.1.1"), 24);
    EXPECT_FALSE(addr);
    if (!addr) {
      EXPECT_EQ(addr.error().message(),
                "add address 10.1.1.1/24 to slwtnone: look up link slwtnone: no such link");
    }
    auto long_name = nl.create_bridge("slwt-much-too-long", 1500);
    EXPECT_FALSE(long_name);
    SLW_TRY(nl.create_bridge("slwtbr", 1500));
    auto tiny = nl.set_link("slwtbr", false, 10);  // below an Ethernet link's minimum of 68
    EXPECT_FALSE(tiny);
    if (!tiny) {
      EXPECT_TRUE(tiny.error().message().starts_with("set mtu of link slwtbr to 10: "))
          << tiny.error().message();
    }
    EXPECT_EQ(SLW_TRY(nl.link("slwtbr")).mtu, 1500);
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(NetlinkTest, DeleteLinkRemovesItAndIgnoresMissingOnes) {
  auto st = in_ns([](Netlink& nl) -> Status {
    SLW_TRY(nl.create_bridge("slwtdel", 1500));
    EXPECT_TRUE(SLW_TRY(nl.link_exists("slwtdel")));
    SLW_TRY(nl.delete_link("slwtdel"));
    EXPECT_FALSE(SLW_TRY(nl.link_exists("slwtdel")));
    SLW_TRY(nl.delete_link("slwtdel"));
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

}  // namespace
}  // namespace slipway::netns
