#include "netns/egress.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/file_lock.h"
#include "base/fs.h"
#include "netns/netlink.h"
#include "netns/nftables.h"

namespace slipway::netns {
namespace {

using json = nlohmann::json;

constexpr std::string_view kFamily = "ip";
constexpr std::string_view kCommentPrefix = "slipway:";
constexpr std::string_view kBridgesSet = "bridges";
constexpr std::string_view kEgressSet = "egress";
constexpr std::string_view kSameBridgeSet = "same_bridge";
constexpr std::string_view kForwardChain = "forward";
constexpr std::string_view kPostroutingChain = "postrouting";
// Docker's chain for rules of its users, jumped to first from its FORWARD chain.
constexpr std::string_view kDockerUserChain = "DOCKER-USER";
constexpr const char* kIpForwardSysctl = "/proc/sys/net/ipv4/ip_forward";

std::string comment_for(std::string_view bridge) {
  return fmt::format("{}{}", kCommentPrefix, bridge);
}

json meta(std::string_view key) {
  return {{"meta", {{"key", key}}}};
}

json match(std::string_view op, json left, json right) {
  return {{"match", {{"op", op}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

json set_ref(std::string_view name) {
  return fmt::format("@{}", name);
}

json verdict(std::string_view name) {
  return {{name, nullptr}};
}

// {"family": "ip", "table": "slipway", ...more}
json in_table(json object) {
  object["family"] = kFamily;
  object["table"] = kEgressTable;
  return object;
}

json command(std::string_view verb, std::string_view kind, json object) {
  return {{verb, {{kind, std::move(object)}}}};
}

json rule(const ChainRef& chain, json expr, std::string_view comment = {}) {
  json r{{"family", chain.family}, {"table", chain.table}, {"chain", chain.chain}, {"expr", std::move(expr)}};
  if (!comment.empty()) r["comment"] = comment;
  return r;
}

ChainRef own_chain(std::string_view name) {
  return {std::string(kFamily), std::string(kEgressTable), std::string(name)};
}

json element(std::string_view set, json elements) {
  return in_table({{"name", set}, {"elem", std::move(elements)}});
}

json same_bridge_element(const std::string& bridge) {
  return {{"concat", {bridge, bridge}}};
}

// The table, its sets and chains, and the rules that do not depend on any one network.
void append_table(json& cmds) {
  cmds.push_back(command("add", "table", {{"family", kFamily}, {"name", kEgressTable}}));
  cmds.push_back(command("add", "set", in_table({{"name", kBridgesSet}, {"type", "ifname"}})));
  cmds.push_back(command("add", "set", in_table({{"name", kEgressSet}, {"type", "ifname"}})));
  cmds.push_back(command("add", "set", in_table({{"name", kSameBridgeSet}, {"type", {"ifname", "ifname"}}})));
  cmds.push_back(command("add", "chain",
                         in_table({{"name", kForwardChain}, {"type", "filter"}, {"hook", "forward"},
                                   {"prio", 0}, {"policy", "accept"}})));
  cmds.push_back(command("add", "chain",
                         in_table({{"name", kPostroutingChain}, {"type", "nat"}, {"hook", "postrouting"},
                                   {"prio", 100}, {"policy", "accept"}})));
  ChainRef forward = own_chain(kForwardChain);
  auto add = [&](json expr) { cmds.push_back(command("add", "rule", rule(forward, std::move(expr)))); };
  add({match("==", {{"concat", {meta("iifname"), meta("oifname")}}}, set_ref(kSameBridgeSet)),
       verdict("accept")});
  add({match("==", meta("oifname"), set_ref(kBridgesSet)),
       match("in", {{"ct", {{"key", "state"}}}}, {"established", "related"}), verdict("accept")});
  add({match("==", meta("oifname"), set_ref(kBridgesSet)), verdict("drop")});
  add({match("==", meta("iifname"), set_ref(kBridgesSet)), match("!=", meta("iifname"), set_ref(kEgressSet)),
       verdict("drop")});
}

std::vector<std::string> string_elements(const json& set) {
  std::vector<std::string> out;
  if (!set.contains("elem")) return out;
  for (const auto& e : set["elem"])
    if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

std::string text_of(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

EgressView read_egress_view(const json& ruleset) {
  EgressView view;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> chains_of_table;
  std::vector<ChainRef> dropping;
  for (const auto& item : ruleset) {
    if (!item.is_object()) continue;
    if (auto t = item.find("table"); t != item.end()) {
      if (text_of(*t, "family") == kFamily && text_of(*t, "name") == kEgressTable) view.table_exists = true;
    } else if (auto s = item.find("set"); s != item.end()) {
      if (text_of(*s, "family") != kFamily || text_of(*s, "table") != kEgressTable) continue;
      std::string name = text_of(*s, "name");
      if (name == kBridgesSet) {
        for (auto& b : string_elements(*s)) view.bridges.insert(b);
      } else if (name == kEgressSet) {
        for (auto& b : string_elements(*s)) view.egress_bridges.insert(b);
      }
    } else if (auto c = item.find("chain"); c != item.end()) {
      ChainRef ref{text_of(*c, "family"), text_of(*c, "table"), text_of(*c, "name")};
      chains_of_table[{ref.family, ref.table}].insert(ref.chain);
      bool ours = ref.family == kFamily && ref.table == kEgressTable;
      if (!ours && (ref.family == "ip" || ref.family == "inet") && text_of(*c, "hook") == "forward" &&
          text_of(*c, "policy") == "drop")
        dropping.push_back(ref);
    } else if (auto r = item.find("rule"); r != item.end()) {
      std::string comment = text_of(*r, "comment");
      if (!comment.starts_with(kCommentPrefix) || !r->contains("handle")) continue;
      view.rules.push_back({text_of(*r, "family"), text_of(*r, "table"), text_of(*r, "chain"),
                            (*r)["handle"].get<int64_t>(), comment.substr(kCommentPrefix.size())});
    }
  }
  for (const ChainRef& chain : dropping) {
    ChainRef target = chain;
    if (chains_of_table[{chain.family, chain.table}].contains(std::string(kDockerUserChain)))
      target.chain = kDockerUserChain;
    if (std::find(view.accept_chains.begin(), view.accept_chains.end(), target) == view.accept_chains.end())
      view.accept_chains.push_back(target);
  }
  return view;
}

json plan_egress_install(const EgressView& view, const Network& network) {
  json cmds = json::array();
  if (!view.table_exists) append_table(cmds);
  const std::string& bridge = network.bridge;
  std::string comment = comment_for(bridge);
  bool egress = !network.internal;
  for (const RuleRef& r : view.rules) {
    if (r.bridge != bridge) continue;
    cmds.push_back(command("delete", "rule",
                           {{"family", r.family}, {"table", r.table}, {"chain", r.chain}, {"handle", r.handle}}));
  }
  cmds.push_back(command("add", "element", element(kBridgesSet, {bridge})));
  cmds.push_back(command("add", "element", element(kSameBridgeSet, {same_bridge_element(bridge)})));
  if (egress) {
    cmds.push_back(command("add", "element", element(kEgressSet, {bridge})));
    json saddr{{"payload", {{"protocol", "ip"}, {"field", "saddr"}}}};
    json subnet{{"prefix", {{"addr", network.subnet.network.to_string()}, {"len", network.subnet.prefix}}}};
    cmds.push_back(command("add", "rule",
                           rule(own_chain(kPostroutingChain),
                                {match("==", saddr, subnet), match("!=", meta("oifname"), set_ref(kBridgesSet)),
                                 verdict("masquerade")},
                                comment)));
  } else if (view.egress_bridges.contains(bridge)) {
    cmds.push_back(command("delete", "element", element(kEgressSet, {bridge})));
  }
  for (const ChainRef& chain : view.accept_chains) {
    auto insert = [&](json expr) {
      cmds.push_back(command("insert", "rule", rule(chain, std::move(expr), comment)));
    };
    if (egress) {
      insert({match("==", meta("oifname"), bridge), verdict("accept")});
      insert({match("==", meta("iifname"), bridge), verdict("accept")});
    } else {
      insert({match("==", meta("iifname"), bridge), match("==", meta("oifname"), bridge), verdict("accept")});
    }
  }
  return cmds;
}

json plan_egress_removal(const EgressView& view, const std::set<std::string>& bridges) {
  json cmds = json::array();
  bool keep_table = std::any_of(view.bridges.begin(), view.bridges.end(),
                                [&](const std::string& b) { return !bridges.contains(b); });
  for (const RuleRef& r : view.rules) {
    if (!bridges.contains(r.bridge)) continue;
    bool in_own_table = r.family == kFamily && r.table == kEgressTable;
    if (in_own_table && !keep_table) continue;  // goes with the table
    cmds.push_back(command("delete", "rule",
                           {{"family", r.family}, {"table", r.table}, {"chain", r.chain}, {"handle", r.handle}}));
  }
  if (!view.table_exists) return cmds;
  if (!keep_table) {
    cmds.push_back(command("delete", "table", {{"family", kFamily}, {"name", kEgressTable}}));
    return cmds;
  }
  for (const std::string& bridge : bridges) {
    if (!view.bridges.contains(bridge)) continue;
    cmds.push_back(command("delete", "element", element(kBridgesSet, {bridge})));
    cmds.push_back(command("delete", "element", element(kSameBridgeSet, {same_bridge_element(bridge)})));
    if (view.egress_bridges.contains(bridge))
      cmds.push_back(command("delete", "element", element(kEgressSet, {bridge})));
  }
  return cmds;
}

std::set<std::string> egress_bridges_with_rules(const EgressView& view) {
  std::set<std::string> out = view.bridges;
  for (const RuleRef& r : view.rules) out.insert(r.bridge);
  return out;
}

namespace {

// The lock, a libnftables context and the listed ruleset, for one change.
struct EgressSession {
  FileLock lock;
  Nftables nft;
  EgressView view;
};

Result<EgressSession> open_session() {
  FileLock lock = SLW_TRY(FileLock::acquire(std::string(kEgressLockFile)));
  Nftables nft = SLW_TRY(Nftables::open());
  json ruleset = SLW_TRY(nft.list({{"list", {{"ruleset", nullptr}}}}));
  EgressView view = read_egress_view(ruleset);
  return EgressSession{std::move(lock), std::move(nft), std::move(view)};
}

Status enable_ip_forwarding() {
  auto current = fs::read_file(kIpForwardSysctl);
  if (current && current->starts_with("1")) return {};
  UniqueFd fd(::open(kIpForwardSysctl, O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || ::write(fd.get(), "1\n", 2) != 2) return fail_errno("turn on IPv4 forwarding");
  return {};
}

}  // namespace

Status install_egress(const Network& network) {
  std::string what = fmt::format("set up {} of network {}", network.internal ? "isolation" : "egress", network.name);
  EgressSession s = SLW_TRY_CTX(open_session(), "{}", what);
  SLW_TRY_CTX(s.nft.run(plan_egress_install(s.view, network)), "{}", what);
  if (!network.internal) SLW_TRY_CTX(enable_ip_forwarding(), "{}", what);
  return {};
}

Status remove_egress(const std::string& bridge) {
  std::string what = fmt::format("remove the nftables rules of bridge {}", bridge);
  EgressSession s = SLW_TRY_CTX(open_session(), "{}", what);
  if (!egress_bridges_with_rules(s.view).contains(bridge)) return {};
  return with_context(s.nft.run(plan_egress_removal(s.view, {bridge})), what);
}

Result<std::vector<std::string>> prune_egress() {
  const char* what = "remove the nftables rules of removed bridges";
  EgressSession s = SLW_TRY_CTX(open_session(), "{}", what);
  Netlink nl = SLW_TRY_CTX(Netlink::open(), "{}", what);
  std::set<std::string> gone;
  for (const std::string& bridge : egress_bridges_with_rules(s.view))
    if (!SLW_TRY_CTX(nl.link_exists(bridge), "{}", what)) gone.insert(bridge);
  if (gone.empty()) return std::vector<std::string>{};
  SLW_TRY_CTX(s.nft.run(plan_egress_removal(s.view, gone)), "{}", what);
  return std::vector<std::string>(gone.begin(), gone.end());
}

}  // namespace slipway::netns
