// netns/egress.h against the real kernel, inside a private network namespace standing in for the
// host: the table appears with the first network and goes with the last, rules of Docker's
// dropping FORWARD chain stay listable by iptables-nft, gc prunes rules of vanished bridges, and
// ensure_bridge puts the rules back on a bridge that lost them.
#include "netns/egress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/fs.h"
#include "netns/netlink.h"
#include "netns/netns_fd.h"
#include "netns/network_store.h"
#include "netns/nftables.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

using json = nlohmann::json;

class EgressRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (network namespaces, nftables); run as root";
    auto ns = create_netns();
    ASSERT_TRUE(ns) << ns.error().message();
    ns_ = std::move(*ns);
  }

  Network network(std::string_view suffix, std::string subnet, bool internal = false) const {
    Network n;
    n.name = fmt::format("t{}", suffix);
    n.bridge = fmt::format("slwe{}{}", ::getpid() % 100000, suffix);
    n.subnet = *parse_cidr(subnet);
    n.gateway = n.subnet.host(1);
    n.internal = internal;
    return n;
  }

  // The ruleset of the test's namespace as slipway reads it.
  EgressView view() {
    auto listed = in_netns(ns_.get(), []() -> Result<json> {
      Nftables nft = SLW_TRY(Nftables::open());
      return nft.list({{"list", {{"ruleset", nullptr}}}});
    });
    EXPECT_TRUE(listed) << listed.error().message();
    return listed ? read_egress_view(*listed) : EgressView{};
  }

  testing::CommandResult sh(const std::string& script) {
    return testing::run_in_netns(ns_.get(), {"sh", "-c", script});
  }

  UniqueFd ns_;
};

TEST_F(EgressRootTest, TheTableComesWithTheFirstNetworkAndGoesWithTheLast) {
  Network a = network("a", "10.131.0.0/24");
  Network b = network("b", "10.132.0.0/24", true);
  auto st = in_netns(ns_.get(), [&]() -> Status {
    SLW_TRY(install_egress(a));
    SLW_TRY(install_egress(b));
    SLW_TRY(install_egress(a));  // again: replaced, not doubled
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
  EgressView v = view();
  EXPECT_TRUE(v.table_exists);
  EXPECT_EQ(v.bridges, (std::set<std::string>{a.bridge, b.bridge}));
  EXPECT_EQ(v.egress_bridges, (std::set<std::string>{a.bridge}));
  ASSERT_EQ(v.rules.size(), 1u);  // a's masquerade; the internal network has none
  EXPECT_EQ(v.rules[0].bridge, a.bridge);
  EXPECT_EQ(sh("cat /proc/sys/net/ipv4/ip_forward").out, "1\n");

  auto listing = sh("nft list table ip slipway");
  EXPECT_NE(listing.out.find("ip saddr 10.131.0.0/24 oifname != @bridges masquerade comment \"slipway:" + a.bridge),
            std::string::npos)
      << listing.out;

  ASSERT_TRUE(in_netns(ns_.get(), [&] { return remove_egress(a.bridge); }));
  v = view();
  EXPECT_TRUE(v.table_exists);
  EXPECT_EQ(v.bridges, (std::set<std::string>{b.bridge}));
  EXPECT_TRUE(v.rules.empty());
  ASSERT_TRUE(in_netns(ns_.get(), [&] { return remove_egress(b.bridge); }));
  EXPECT_FALSE(view().table_exists);
  ASSERT_TRUE(in_netns(ns_.get(), [&] { return remove_egress(b.bridge); }));  // nothing left: fine
}

TEST_F(EgressRootTest, DockersDroppingForwardGetsAcceptRulesIptablesCanList) {
  // What dockerd leaves with iptables-nft: FORWARD policy DROP, DOCKER-USER jumped first.
  auto docker = sh("iptables -P FORWARD DROP && iptables -N DOCKER-USER && iptables -A DOCKER-USER -j RETURN && "
                   "iptables -N DOCKER-FORWARD && iptables -A FORWARD -j DOCKER-USER && "
                   "iptables -A FORWARD -j DOCKER-FORWARD && "
                   "iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE");
  ASSERT_EQ(docker.exit_code, 0) << docker.out;
  Network a = network("a", "10.133.0.0/24");
  Network b = network("b", "10.134.0.0/24", true);
  ASSERT_TRUE(in_netns(ns_.get(), [&]() -> Status {
    SLW_TRY(install_egress(a));
    return install_egress(b);
  }));
  auto listed = sh("iptables -S DOCKER-USER");
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  std::string comment_a = "-m comment --comment \"slipway:" + a.bridge + "\"";
  std::string comment_b = "-m comment --comment \"slipway:" + b.bridge + "\"";
  EXPECT_NE(listed.out.find("-A DOCKER-USER -i " + a.bridge + " " + comment_a + " -j ACCEPT"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("-A DOCKER-USER -o " + a.bridge + " " + comment_a + " -j ACCEPT"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("-A DOCKER-USER -i " + b.bridge + " -o " + b.bridge + " " + comment_b + " -j ACCEPT"),
            std::string::npos)
      << listed.out;
  // Docker's own rules are untouched and still come after slipway's.
  EXPECT_NE(listed.out.find("-A DOCKER-USER -j RETURN"), std::string::npos) << listed.out;
  EXPECT_EQ(sh("iptables -S FORWARD").exit_code, 0);

  ASSERT_TRUE(in_netns(ns_.get(), [&]() -> Status {
    SLW_TRY(remove_egress(a.bridge));
    return remove_egress(b.bridge);
  }));
  listed = sh("iptables -S DOCKER-USER");
  EXPECT_EQ(listed.out, "-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n");
  EXPECT_FALSE(view().table_exists);
}

TEST_F(EgressRootTest, GcPrunesRulesOfBridgesThatAreGone) {
  Network kept = network("k", "10.135.0.0/24");
  Network gone = network("g", "10.136.0.0/24");
  auto pruned = in_netns(ns_.get(), [&]() -> Result<std::vector<std::string>> {
    Netlink nl = SLW_TRY(Netlink::open());
    SLW_TRY(nl.create_bridge(kept.bridge, 1500));
    SLW_TRY(install_egress(kept));
    SLW_TRY(install_egress(gone));  // as a killed `network rm` leaves it: rules, no bridge
    return prune_egress();
  });
  ASSERT_TRUE(pruned) << pruned.error().message();
  EXPECT_EQ(*pruned, std::vector<std::string>{gone.bridge});
  EgressView v = view();
  EXPECT_EQ(v.bridges, (std::set<std::string>{kept.bridge}));
  ASSERT_EQ(v.rules.size(), 1u);
  EXPECT_EQ(v.rules[0].bridge, kept.bridge);
}

TEST_F(EgressRootTest, EnsureBridgeMarksTheBridgeAndRestoresLostRules) {
  testing::TempDir root("slipway-egress-root");
  NetworkOptions o;
  o.subnet = *parse_cidr("10.137.0.0/24");
  o.bridge = fmt::format("slwe{}m", ::getpid() % 100000);
  auto made = in_netns(ns_.get(), [&]() -> Result<Network> {
    Network n = SLW_TRY(NetworkStore(root.path()).create("marked", o));
    SLW_TRY(ensure_bridge(n));
    return n;
  });
  ASSERT_TRUE(made) << made.error().message();
  auto alias = in_netns(ns_.get(), [&]() -> Result<LinkInfo> { return SLW_TRY(Netlink::open()).link(o.bridge.value()); });
  ASSERT_TRUE(alias) << alias.error().message();
  EXPECT_EQ(alias->alias, "slipway:egress");
  EXPECT_EQ(view().bridges, (std::set<std::string>{*o.bridge}));

  // A bridge from a slipway without egress (no mark) gets its rules on the next start.
  ASSERT_EQ(sh(fmt::format("nft delete table ip slipway && ip link set {} alias ''", *o.bridge)).exit_code, 0);
  ASSERT_FALSE(view().table_exists);
  ASSERT_TRUE(in_netns(ns_.get(), [&] { return ensure_bridge(*made); }));
  EXPECT_EQ(view().bridges, (std::set<std::string>{*o.bridge}));

  // network rm takes bridge and rules.
  ASSERT_TRUE(in_netns(ns_.get(), [&] { return NetworkStore(root.path()).remove("marked"); }));
  EXPECT_FALSE(view().table_exists);
}

}  // namespace
}  // namespace slipway::netns
