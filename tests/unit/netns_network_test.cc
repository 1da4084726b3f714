// The pure rules behind `network create`: names, domains, bridge names, JSON files, and the
// subnet overlap check against sample host route tables and other networks.
#include <gtest/gtest.h>

#include "netns/ifname.h"
#include "netns/network.h"

namespace slipway::netns {
namespace {

Ipv4 ip(std::string_view s) {
  return *parse_ipv4(s);
}
Cidr cidr(std::string_view s) {
  return *parse_cidr(s);
}

// The routes of a typical CI host: default via eth0, its LAN, docker0, and a VPN.
std::vector<Ipv4Route> sample_routes() {
  return {
      {cidr("0.0.0.0/0"), "eth0", ip("192.168.1.1")},
      {cidr("192.168.1.0/24"), "eth0", std::nullopt},
      {cidr("172.17.0.0/16"), "docker0", std::nullopt},
      {cidr("10.8.0.0/16"), "tun0", std::nullopt},
  };
}

Network make_network(std::string name, std::string_view subnet) {
  Network n;
  n.name = name;
  n.subnet = cidr(subnet);
  n.gateway = n.subnet.host(1);
  n.domain = name;
  n.bridge = bridge_name_for(name);
  return n;
}

TEST(NetworkName, FollowsDockersRule) {
  for (std::string_view good : {"a", "web", "ci_net-2", "My.Net", "0net"})
    EXPECT_TRUE(validate_network_name(good)) << good;
  for (std::string_view bad : {"", "-net", "_net", ".net", "net work", "net/1", "net:1", "né",
                               "host", "none", "bridge", "foo.leases"}) {
    auto st = validate_network_name(bad);
    EXPECT_FALSE(st) << bad;
    if (!st) {
      EXPECT_NE(st.error().message().find("invalid network name"), std::string::npos);
    }
  }
  EXPECT_TRUE(validate_network_name(std::string(64, 'a')));
  EXPECT_FALSE(validate_network_name(std::string(65, 'a')));
}

TEST(Domain, AcceptsDnsNamesOnly) {
  for (std::string_view good : {"slipway", "ci.example.com", "a-b.c1", "x"})
    EXPECT_TRUE(validate_domain(good)) << good;
  for (std::string_view bad : {"", "Upper.case", "a..b", ".a", "a.", "-a", "a-", "a_b", "a b"})
    EXPECT_FALSE(validate_domain(bad)) << bad;
  EXPECT_FALSE(validate_domain(std::string(64, 'a')));
  EXPECT_TRUE(validate_domain(std::string(63, 'a')));
}

TEST(BridgeName, PrefixedNameWhenItFitsElseHash) {
  EXPECT_EQ(bridge_name_for("slipway"), "slw-slipway");
  EXPECT_EQ(bridge_name_for("slipway", "/var/lib/slipway"), "slw-slipway");
  // Two roots, one network name: two bridges, each a valid interface name.
  std::string a = bridge_name_for("prodlike", "/tmp/root-a"), b = bridge_name_for("prodlike", "/tmp/root-b");
  EXPECT_NE(a, b);
  EXPECT_TRUE(is_valid_ifname(a) && is_valid_ifname(b)) << a << " " << b;
  EXPECT_EQ(a, bridge_name_for("prodlike", "/tmp/root-a"));
  EXPECT_TRUE(is_valid_ifname(bridge_name_for("a-very-long-network-name", "/tmp/root-a")));
  EXPECT_EQ(bridge_name_for("abcdefghijk"), "slw-abcdefghijk");  // exactly 15
  std::string long_name = bridge_name_for("abcdefghijkl");
  EXPECT_EQ(long_name.size(), 15u);
  EXPECT_TRUE(long_name.starts_with("slw-"));
  EXPECT_EQ(long_name.substr(4), hash_hex("abcdefghijkl", 11));
  EXPECT_TRUE(is_valid_ifname(long_name));
  // Stable: the same name maps to the same bridge in every process, different names differ.
  EXPECT_EQ(bridge_name_for("a-rather-long-network-name"),
            bridge_name_for("a-rather-long-network-name"));
  EXPECT_NE(bridge_name_for("a-rather-long-network-name-1"),
            bridge_name_for("a-rather-long-network-name-2"));
}

TEST(BridgeMac, StablePerNameUnicastAndLocallyAdministered) {
  auto mac = stable_mac("slw-prodlike");
  EXPECT_EQ(mac, stable_mac("slw-prodlike"));
  EXPECT_NE(mac, stable_mac("slw-prodlike2"));
  EXPECT_EQ(mac[0] & 0x01, 0) << "unicast";
  EXPECT_EQ(mac[0] & 0x02, 0x02) << "locally administered";
  auto hex = hash_hex("slw-prodlike", 12);
  EXPECT_EQ(mac[5], std::stoi(hex.substr(10, 2), nullptr, 16));
}

TEST(Ifname, Validity) {
  EXPECT_TRUE(is_valid_ifname("eth0"));
  EXPECT_TRUE(is_valid_ifname("slv0123456789ab"));
  EXPECT_FALSE(is_valid_ifname("slv0123456789abc"));  // 16
  EXPECT_FALSE(is_valid_ifname(""));
  EXPECT_FALSE(is_valid_ifname("a/b"));
  EXPECT_FALSE(is_valid_ifname("a:b"));
  EXPECT_FALSE(is_valid_ifname("a b"));
  EXPECT_FALSE(is_valid_ifname(".."));
  EXPECT_EQ(hash_hex("x", 11).size(), 11u);
  EXPECT_EQ(hash_hex("", 16), "cbf29ce484222325");  // the FNV-1a offset basis: format pinned
}

TEST(NetworkJson, RoundTrips) {
  Network n = make_network("ci", "10.30.0.0/24");
  n.gateway = ip("10.30.0.254");
  n.domain = "ci.example";
  n.mtu = 1400;
  std::string text = network_to_json(n);
  auto back = network_from_json(text, "ci.json");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, n);
  EXPECT_NE(text.find("\"subnet\": \"10.30.0.0/24\""), std::string::npos) << text;
}

TEST(NetworkJson, BadFilesNameTheFile) {
  for (
      std::string_view bad :
      {"{", "{}",
       R"({"name":"a","subnet":"10.0.0.1/24","gateway":"10.0.0.1","domain":"a",)"
       R"("bridge":"slw-a"})",
       R"({"name":"a","subnet":"10.0.0.0/24","gateway":"10.0.1.1","domain":"a","bridge":"slw-a"})",
       R"({"name":"a","subnet":"10.0.0.0/24","gateway":"10.0.0.1","domain":"a","bridge":"x/y"})"}) {
    auto n = network_from_json(bad, "/r/networks/a.json");
    ASSERT_FALSE(n) << bad;
    EXPECT_TRUE(n.error().message().starts_with("/r/networks/a.json: ")) << n.error().message();
  }
}

TEST(SubnetCheck, RefusesOverlapWithAHostRouteNamingBoth) {
  auto st = check_subnet_available(cidr("192.168.0.0/16"), "slw-ci", sample_routes(), {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "subnet 192.168.0.0/16 overlaps the host route 192.168.1.0/24 dev eth0");
  st = check_subnet_available(cidr("10.8.3.0/24"), "slw-ci", sample_routes(), {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "subnet 10.8.3.0/24 overlaps the host route 10.8.0.0/16 dev tun0");
}

TEST(SubnetCheck, IgnoresDefaultRouteAndOwnBridge) {
  EXPECT_TRUE(check_subnet_available(cidr("10.9.0.0/16"), "slw-ci", sample_routes(), {}));
  auto routes = sample_routes();
  routes.push_back({cidr("10.50.0.0/24"), "slw-ci", std::nullopt});
  EXPECT_TRUE(check_subnet_available(cidr("10.50.0.0/24"), "slw-ci", routes, {}));
  EXPECT_FALSE(check_subnet_available(cidr("10.50.0.0/24"), "slw-other", routes, {}));
}

TEST(SubnetCheck, RefusesOverlapWithAnotherNetworkNamingIt) {
  std::vector<Network> nets{make_network("alpha", "10.60.0.0/16")};
  auto st = check_subnet_available(cidr("10.60.4.0/24"), "slw-beta", {}, nets);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "subnet 10.60.4.0/24 overlaps network alpha (10.60.0.0/16)");
}

TEST(SubnetCheck, RefusesReservedRanges) {
  for (std::string_view bad :
       {"127.0.0.0/16", "169.254.0.0/24", "224.0.0.0/8", "240.0.0.0/8", "0.0.0.0/8"}) {
    auto st = check_subnet_available(cidr(bad), "", {}, {});
    ASSERT_FALSE(st) << bad;
    EXPECT_NE(st.error().message().find("range"), std::string::npos) << st.error().message();
  }
}

TEST(ChooseSubnet, SkipsTakenReservedAndRoutedCandidates) {
  std::vector<Network> nets{make_network("a", "172.19.0.0/16")};
  auto routes = sample_routes();
  routes.push_back({cidr("172.20.0.0/14"), "vpn0", std::nullopt});  // 172.20-23
  auto c = choose_subnet(routes, nets, {cidr("172.24.0.0/16")});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->to_string(), "172.25.0.0/16");
}

TEST(ChooseSubnet, FallsBackTo192168AndThenGivesUp) {
  std::vector<Ipv4Route> routes{{cidr("172.16.0.0/12"), "vpn0", std::nullopt}};
  auto c = choose_subnet(routes, {}, {});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->to_string(), "192.168.0.0/20");
  routes.push_back({cidr("192.168.0.0/16"), "eth1", std::nullopt});
  auto none = choose_subnet(routes, {}, {});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("--subnet"), std::string::npos);
}

TEST(PlanNetwork, DefaultsGatewayDomainBridgeAndMtu) {
  NetworkOptions o;
  o.subnet = cidr("10.70.0.0/24");
  auto n = plan_network("My_Net", o, sample_routes(), {});
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->gateway, ip("10.70.0.1"));
  EXPECT_EQ(n->domain, "my-net");
  EXPECT_EQ(n->bridge, "slw-My_Net");
  EXPECT_EQ(n->mtu, 1500);
}

TEST(PlanNetwork, RefusesBadGatewaysAndDuplicates) {
  NetworkOptions o;
  o.subnet = cidr("10.70.0.0/24");
  o.gateway = ip("10.71.0.1");
  auto n = plan_network("ci", o, {}, {});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(), "network ci: gateway 10.71.0.1 is not in subnet 10.70.0.0/24");
  o.gateway = ip("10.70.0.255");
  n = plan_network("ci", o, {}, {});
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("broadcast"), std::string::npos);
  o.gateway.reset();
  n = plan_network("ci", o, {}, {make_network("ci", "10.80.0.0/24")});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(), "network ci already exists");
  o.subnet = cidr("10.70.0.0/31");
  n = plan_network("ci", o, {}, {});
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("8-30"), std::string::npos);
}

TEST(PlanNetwork, RefusesSharedBridgeAndBadDomain) {
  NetworkOptions o;
  o.subnet = cidr("10.70.0.0/24");
  o.bridge = "slw-alpha";
  auto n = plan_network("beta", o, {}, {make_network("alpha", "10.80.0.0/24")});
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(), "network beta: bridge slw-alpha is already used by network alpha");
  o.bridge.reset();
  o.domain = "Bad_Domain";
  n = plan_network("beta", o, {}, {});
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("invalid domain"), std::string::npos);
  o.domain.reset();
  n = plan_network("a.-b", o, {}, {});
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message().find("--domain"), std::string::npos);
}

TEST(Paths, LiveUnderRootNetworks) {
  EXPECT_EQ(network_file("/r", "ci"), "/r/networks/ci.json");
  EXPECT_EQ(leases_file("/r/", "ci"), "/r/networks/ci.leases.json");
  EXPECT_EQ(networks_lock_file("/r"), "/r/networks/.lock");
}

}  // namespace
}  // namespace slipway::netns
