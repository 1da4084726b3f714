// netns/egress.h, the pure half: what a listed ruleset says, and the nftables commands that give a
// network its rules or take them away, on listings shaped like nft's own (`nft -j list ruleset`).
#include "netns/egress.h"

#include <gtest/gtest.h>

namespace slipway::netns {
namespace {

using json = nlohmann::json;

Network network(std::string bridge, std::string subnet, bool internal = false) {
  Network n;
  n.name = "n-" + bridge;
  n.bridge = std::move(bridge);
  n.subnet = *parse_cidr(subnet);
  n.gateway = n.subnet.host(1);
  n.internal = internal;
  return n;
}

json table(std::string family, std::string name) {
  return {{"table", {{"family", family}, {"name", name}, {"handle", 1}}}};
}

json set(std::string name, std::vector<std::string> elems) {
  json s{{"family", "ip"}, {"table", "slipway"}, {"name", name}, {"type", "ifname"}, {"handle", 2}};
  if (!elems.empty()) s["elem"] = elems;
  return {{"set", s}};
}

json base_chain(std::string family, std::string table, std::string name, std::string hook, std::string policy) {
  return {{"chain",
           {{"family", family}, {"table", table}, {"name", name}, {"handle", 3}, {"type", "filter"},
            {"hook", hook}, {"prio", 0}, {"policy", policy}}}};
}

json chain(std::string family, std::string table, std::string name) {
  return {{"chain", {{"family", family}, {"table", table}, {"name", name}, {"handle", 4}}}};
}

json rule(std::string family, std::string table, std::string chain, int64_t handle, std::string comment = "") {
  json r{{"family", family}, {"table", table}, {"chain", chain}, {"handle", handle}, {"expr", json::array()}};
  if (!comment.empty()) r["comment"] = comment;
  return {{"rule", r}};
}

// Docker's filter table as iptables-nft leaves it: FORWARD drops, DOCKER-USER is jumped first.
json docker_filter() {
  return json::array({table("ip", "filter"), base_chain("ip", "filter", "FORWARD", "forward", "drop"),
                      chain("ip", "filter", "DOCKER-USER"), chain("ip", "filter", "DOCKER-FORWARD"),
                      rule("ip", "filter", "FORWARD", 10), rule("ip", "filter", "DOCKER-USER", 11)});
}

// slipway's table holding bridges a (egress) and b (internal).
json own_table() {
  return json::array({table("ip", "slipway"), set("bridges", {"slw-a", "slw-b"}), set("egress", {"slw-a"}),
                      rule("ip", "slipway", "postrouting", 20, "slipway:slw-a"),
                      rule("ip", "slipway", "forward", 5)});
}

json concat(json a, json b) {
  for (auto& x : b) a.push_back(x);
  return a;
}

std::vector<json> with(const json& cmds, std::string_view verb, std::string_view kind) {
  std::vector<json> out;
  for (const auto& c : cmds)
    if (c.contains(verb) && c[verb].contains(kind)) out.push_back(c[verb][kind]);
  return out;
}

TEST(EgressView, ReadsSlipwaysSetsAndCommentedRules) {
  EgressView v = read_egress_view(own_table());
  EXPECT_TRUE(v.table_exists);
  EXPECT_EQ(v.bridges, (std::set<std::string>{"slw-a", "slw-b"}));
  EXPECT_EQ(v.egress_bridges, (std::set<std::string>{"slw-a"}));
  ASSERT_EQ(v.rules.size(), 1u);  // the uncommented rule is not per-network
  EXPECT_EQ(v.rules[0], (RuleRef{"ip", "slipway", "postrouting", 20, "slw-a"}));
  EXPECT_TRUE(v.accept_chains.empty());
  EXPECT_EQ(egress_bridges_with_rules(v), (std::set<std::string>{"slw-a", "slw-b"}));
}

TEST(EgressView, AcceptRulesGoToDockerUserWhenDockersForwardDrops) {
  EgressView v = read_egress_view(docker_filter());
  EXPECT_FALSE(v.table_exists);
  EXPECT_EQ(v.accept_chains, (std::vector<ChainRef>{{"ip", "filter", "DOCKER-USER"}}));
}

TEST(EgressView, AnyDroppingForwardChainOfIpOrInetGetsTheAcceptRulesItself) {
  json ruleset = json::array({table("inet", "fw"), base_chain("inet", "fw", "fwd", "forward", "drop"),
                              // accepting, another hook, another family: not in the way
                              base_chain("ip", "other", "fwd", "forward", "accept"),
                              base_chain("ip", "other", "in", "input", "drop"),
                              base_chain("bridge", "br", "fwd", "forward", "drop")});
  EgressView v = read_egress_view(ruleset);
  EXPECT_EQ(v.accept_chains, (std::vector<ChainRef>{{"inet", "fw", "fwd"}}));
}

TEST(EgressView, RulesOfOtherTablesAreFoundByTheirComment) {
  json ruleset = concat(docker_filter(), json::array({rule("ip", "filter", "DOCKER-USER", 30, "slipway:slw-c"),
                                                      rule("ip", "filter", "DOCKER-USER", 31, "not ours")}));
  EgressView v = read_egress_view(ruleset);
  ASSERT_EQ(v.rules.size(), 1u);
  EXPECT_EQ(v.rules[0], (RuleRef{"ip", "filter", "DOCKER-USER", 30, "slw-c"}));
  EXPECT_EQ(egress_bridges_with_rules(v), (std::set<std::string>{"slw-c"}));
}

TEST(EgressPlan, FirstNetworkMakesTheTableAndItsMasquerade) {
  json cmds = plan_egress_install(read_egress_view(json::array()), network("slw-a", "172.18.0.0/16"));
  ASSERT_EQ(with(cmds, "add", "table").size(), 1u);
  EXPECT_EQ(with(cmds, "add", "table")[0], (json{{"family", "ip"}, {"name", "slipway"}}));
  EXPECT_EQ(with(cmds, "add", "set").size(), 3u);
  auto chains = with(cmds, "add", "chain");
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[0]["hook"], "forward");
  EXPECT_EQ(chains[0]["policy"], "accept");
  EXPECT_EQ(chains[1]["type"], "nat");
  EXPECT_EQ(chains[1]["hook"], "postrouting");

  auto rules = with(cmds, "add", "rule");
  ASSERT_EQ(rules.size(), 5u);  // four in forward, the network's masquerade
  json masquerade = rules.back();
  EXPECT_EQ(masquerade["chain"], "postrouting");
  EXPECT_EQ(masquerade["comment"], "slipway:slw-a");
  EXPECT_EQ(masquerade["expr"][0]["match"]["right"], (json{{"prefix", {{"addr", "172.18.0.0"}, {"len", 16}}}}));
  EXPECT_EQ(masquerade["expr"][1]["match"]["op"], "!=");
  EXPECT_EQ(masquerade["expr"][1]["match"]["right"], "@bridges");
  EXPECT_TRUE(masquerade["expr"][2].contains("masquerade"));

  auto elements = with(cmds, "add", "element");
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_EQ(elements[0]["name"], "bridges");
  EXPECT_EQ(elements[0]["elem"], json::array({"slw-a"}));
  EXPECT_EQ(elements[1]["name"], "same_bridge");
  EXPECT_EQ(elements[1]["elem"][0], (json{{"concat", {"slw-a", "slw-a"}}}));
  EXPECT_EQ(elements[2]["name"], "egress");
  EXPECT_TRUE(with(cmds, "insert", "rule").empty());  // nothing else drops forwarded traffic
}

TEST(EgressPlan, ExistingTableIsNotMadeTwiceAndOldRulesOfTheBridgeAreReplaced) {
  EgressView v = read_egress_view(own_table());
  json cmds = plan_egress_install(v, network("slw-a", "10.9.0.0/24"));
  EXPECT_TRUE(with(cmds, "add", "table").empty());
  EXPECT_TRUE(with(cmds, "add", "chain").empty());
  auto deleted = with(cmds, "delete", "rule");
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0], (json{{"family", "ip"}, {"table", "slipway"}, {"chain", "postrouting"}, {"handle", 20}}));
  auto rules = with(cmds, "add", "rule");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0]["expr"][0]["match"]["right"]["prefix"]["addr"], "10.9.0.0");
}

TEST(EgressPlan, DockersDropGetsInterfaceOnlyAcceptsThatIptablesCanList) {
  json cmds = plan_egress_install(read_egress_view(docker_filter()), network("slw-a", "172.18.0.0/16"));
  auto inserted = with(cmds, "insert", "rule");
  ASSERT_EQ(inserted.size(), 2u);
  for (const auto& r : inserted) {
    EXPECT_EQ(r["table"], "filter");
    EXPECT_EQ(r["chain"], "DOCKER-USER");
    EXPECT_EQ(r["comment"], "slipway:slw-a");
    ASSERT_EQ(r["expr"].size(), 2u);  // one interface match and accept: no ct, no sets
    EXPECT_EQ(r["expr"][0]["match"]["right"], "slw-a");
    EXPECT_TRUE(r["expr"][1].contains("accept"));
  }
  EXPECT_EQ(inserted[0]["expr"][0]["match"]["left"]["meta"]["key"], "oifname");
  EXPECT_EQ(inserted[1]["expr"][0]["match"]["left"]["meta"]["key"], "iifname");
}

TEST(EgressPlan, InternalNetworkHasNoMasqueradeAndOnlyItsOwnBridgeAccepted) {
  json ruleset = concat(own_table(), docker_filter());
  // slw-a becomes internal: its egress element and masquerade go.
  json cmds = plan_egress_install(read_egress_view(ruleset), network("slw-a", "172.18.0.0/16", true));
  EXPECT_TRUE(with(cmds, "add", "rule").empty());
  auto removed = with(cmds, "delete", "element");
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0]["name"], "egress");
  for (const auto& e : with(cmds, "add", "element")) EXPECT_NE(e["name"], "egress");
  auto inserted = with(cmds, "insert", "rule");
  ASSERT_EQ(inserted.size(), 1u);
  EXPECT_EQ(inserted[0]["expr"][0]["match"]["left"]["meta"]["key"], "iifname");
  EXPECT_EQ(inserted[0]["expr"][1]["match"]["left"]["meta"]["key"], "oifname");
}

TEST(EgressPlan, RemovingOneOfTwoBridgesKeepsTheTable) {
  json ruleset = concat(own_table(), concat(docker_filter(), json::array({rule("ip", "filter", "DOCKER-USER", 40,
                                                                               "slipway:slw-a")})));
  json cmds = plan_egress_removal(read_egress_view(ruleset), {"slw-a"});
  EXPECT_TRUE(with(cmds, "delete", "table").empty());
  auto rules = with(cmds, "delete", "rule");
  ASSERT_EQ(rules.size(), 2u);  // the masquerade and Docker's accept
  std::set<int64_t> handles{rules[0]["handle"].get<int64_t>(), rules[1]["handle"].get<int64_t>()};
  EXPECT_EQ(handles, (std::set<int64_t>{20, 40}));
  auto elements = with(cmds, "delete", "element");
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_EQ(elements[0]["name"], "bridges");
  EXPECT_EQ(elements[1]["name"], "same_bridge");
  EXPECT_EQ(elements[2]["name"], "egress");
}

TEST(EgressPlan, TheLastBridgeTakesTheTableWithIt) {
  json ruleset = concat(own_table(), concat(docker_filter(), json::array({rule("ip", "filter", "DOCKER-USER", 40,
                                                                               "slipway:slw-b")})));
  json cmds = plan_egress_removal(read_egress_view(ruleset), {"slw-a", "slw-b"});
  auto tables = with(cmds, "delete", "table");
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0], (json{{"family", "ip"}, {"name", "slipway"}}));
  auto rules = with(cmds, "delete", "rule");
  ASSERT_EQ(rules.size(), 1u);  // Docker's; slipway's own go with the table
  EXPECT_EQ(rules[0]["table"], "filter");
  EXPECT_TRUE(with(cmds, "delete", "element").empty());
  // The table delete comes after the rules of other tables.
  EXPECT_TRUE(cmds.back().contains("delete") && cmds.back()["delete"].contains("table"));
}

TEST(EgressPlan, RemovalWithoutTheTableOnlyTouchesOtherTables) {
  json ruleset = concat(docker_filter(), json::array({rule("ip", "filter", "DOCKER-USER", 40, "slipway:slw-a")}));
  json cmds = plan_egress_removal(read_egress_view(ruleset), {"slw-a"});
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(with(cmds, "delete", "rule")[0]["handle"], 40);
  EXPECT_TRUE(plan_egress_removal(read_egress_view(json::array()), {"slw-a"}).empty());
}

TEST(EgressNetworkFile, InternalRoundTripsAndDefaultsToEgress) {
  Network n = network("slw-a", "10.1.0.0/24", true);
  auto back = network_from_json(network_to_json(n), "test");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_TRUE(back->internal);
  n.internal = false;
  EXPECT_EQ(network_to_json(n).find("internal"), std::string::npos);  // files of older slipways
  back = network_from_json(network_to_json(n), "test");
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->internal);
}

}  // namespace
}  // namespace slipway::netns
