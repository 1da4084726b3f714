// Egress for bridge networks, as on Docker's default bridge: IP forwarding plus source NAT of each
// network's subnet, in nftables (netns/nftables.h), in a table of slipway's own:
//
//   table ip slipway {
//     set bridges { type ifname }              every slipway bridge with rules here
//     set egress { type ifname }               those that may reach beyond their bridge
//     set same_bridge { type ifname . ifname } (B . B) for each bridge
//     chain forward { type filter hook forward priority filter; policy accept;
//       iifname . oifname @same_bridge accept            (bridged traffic under br_netfilter)
//       oifname @bridges ct state established,related accept
//       oifname @bridges drop                            (other networks and hosts cannot reach in)
//       iifname @bridges iifname != @egress drop         (--internal networks cannot reach out)
//     }
//     chain postrouting { type nat hook postrouting priority srcnat; policy accept;
//       ip saddr SUBNET oifname != @bridges masquerade comment "slipway:B"   one per network
//     }
//   }
//
// A host where Docker (or another firewall) set a forward chain's policy to drop would still drop
// what this table accepts, so each network also gets accept rules at the top of every such chain
// (of Docker's DOCKER-USER chain when there is one), matching only interface names and carrying
// the comment "slipway:B", which iptables-nft can list. The table goes away with the last network.
//
// The plan (what to send to the kernel, from a listed ruleset) is pure and unit-tested; applying
// it holds a host-wide lock so concurrent slipway processes never interleave list and change.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "netns/network.h"

namespace slipway::netns {

inline constexpr std::string_view kEgressTable = "slipway";
// Serialises every change to the table among slipway processes (of any root).
inline constexpr std::string_view kEgressLockFile = "/run/slipway-nftables.lock";

// A rule found in a listing, by where it is and its handle.
struct RuleRef {
  std::string family;
  std::string table;
  std::string chain;
  int64_t handle = 0;
  std::string bridge;  // from the comment "slipway:BRIDGE"
  bool operator==(const RuleRef&) const = default;
};

// A chain of another table that gets slipway's accept rules.
struct ChainRef {
  std::string family;
  std::string table;
  std::string chain;
  bool operator==(const ChainRef&) const = default;
};

// What a listing of the ruleset says about slipway's rules.
struct EgressView {
  bool table_exists = false;
  std::set<std::string> bridges;
  std::set<std::string> egress_bridges;
  std::vector<RuleRef> rules;          // slipway:B rules, in slipway's table and in others
  std::vector<ChainRef> accept_chains; // where accept rules go: DOCKER-USER, or the dropping chain
};

// Reads the "nftables" array of `list ruleset`.
EgressView read_egress_view(const nlohmann::json& ruleset);

// The commands that give `network` its rules (creating the table first when missing), replacing
// whatever rules an earlier network of the same bridge left.
nlohmann::json plan_egress_install(const EgressView& view, const Network& network);
// The commands that take away the rules of `bridges`, and the whole table when no other bridge
// keeps it.
nlohmann::json plan_egress_removal(const EgressView& view, const std::set<std::string>& bridges);
// Every bridge that has rules, in slipway's table or in other tables' chains.
std::set<std::string> egress_bridges_with_rules(const EgressView& view);

// Applies plan_egress_install in the calling thread's network namespace and turns on IPv4
// forwarding when the network has egress (as Docker does; it is left on afterwards).
Status install_egress(const Network& network);
// Applies plan_egress_removal for one bridge; a bridge without rules is success.
Status remove_egress(const std::string& bridge);
// For gc: removes the rules of bridges that no longer exist. Returns their names.
Result<std::vector<std::string>> prune_egress();

}  // namespace slipway::netns
