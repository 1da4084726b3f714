// A slipway network as a plain value, and the pure rules behind `network create`: name and domain
// checks, the bridge name, subnet choice and the overlap check against host routes and other
// networks. NetworkStore applies these to files; nothing here touches the kernel.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "netns/cidr.h"
#include "netns/netlink.h"

namespace slipway::netns {

inline constexpr std::string_view kDefaultNetworkName = "slipway";
inline constexpr std::string_view kDefaultSubnet = "172.18.0.0/16";
// Overrides kDefaultSubnet for the default network when it is first made.
inline constexpr std::string_view kDefaultSubnetEnv = "SLIPWAY_DEFAULT_SUBNET";
inline constexpr int kDefaultMtu = 1500;

struct Network {
  std::string name;
  Cidr subnet;
  Ipv4 gateway;
  std::string domain;  // DNS search domain of the containers on it
  std::string bridge;
  int mtu = kDefaultMtu;
  bool internal = false;  // no egress: containers reach only their bridge and its gateway
  bool operator==(const Network&) const = default;
};

// What `network create` may set; everything unset gets a default.
struct NetworkOptions {
  std::optional<Cidr> subnet;         // default: the first free of 172.19-31.0.0/16, 192.168.N.0/20
  std::optional<Ipv4> gateway;        // default: the subnet's first host
  std::optional<std::string> domain;  // default: the name, lowercased, '_' as '-'
  std::optional<std::string> bridge;  // default: bridge_name_for(name)
  std::optional<int> mtu;             // default: 1500
  bool internal = false;              // `network create --internal`
};

// Docker's rule ([a-zA-Z0-9][a-zA-Z0-9_.-]*), at most 64 characters, not one of Docker's
// predefined "bridge", "host", "none", and not ending in ".leases" (that file holds leases).
Status validate_network_name(std::string_view name);
// Lowercase DNS name: dot-separated labels of [a-z0-9-], 1-63 each, no '-' at either end.
Status validate_domain(std::string_view domain);
// "slw-" + name when that fits in an interface name, else "slw-" + 11 hex digits of its hash.
std::string bridge_name_for(std::string_view network_name);
// Bridges are host-wide but networks belong to a root: the default root (/var/lib/slipway) keeps
// "slw-NAME"; any other root gets "s" + 4 hex digits of its path's hash + "-" + NAME (or a hash
// of both), so that two roots' networks of one name never share, or delete, one bridge.
std::string bridge_name_for(std::string_view network_name, std::string_view root);

// Refuses a subnet that overlaps a reserved range (0/8, loopback, link-local, multicast and
// above), another network, or a host route of the main table. The default route and routes on
// own_bridge (the network's own, when it already exists) do not count.
Status check_subnet_available(const Cidr& subnet, const std::string& own_bridge,
                              const std::vector<Ipv4Route>& host_routes,
                              const std::vector<Network>& networks);
// The first candidate subnet that passes check_subnet_available and is not in `reserved`.
Result<Cidr> choose_subnet(const std::vector<Ipv4Route>& host_routes,
                           const std::vector<Network>& networks, const std::vector<Cidr>& reserved);
// The whole `network create` decision: a new Network, or the reason it cannot exist.
Result<Network> plan_network(const std::string& name, const NetworkOptions& options,
                             const std::vector<Ipv4Route>& host_routes,
                             const std::vector<Network>& networks,
                             const std::vector<Cidr>& reserved_subnets = {});

std::string network_to_json(const Network& network);
// `what` names the source (a file path) in errors.
Result<Network> network_from_json(std::string_view text, std::string_view what);

// Where a network's files live under a slipway root.
std::string networks_dir(std::string_view root);
std::string network_file(std::string_view root, std::string_view name);
std::string leases_file(std::string_view root, std::string_view name);
std::string leases_lock_file(std::string_view root, std::string_view name);
// Held by the network's DNS process while it serves; its stderr goes to the log.
std::string dns_lock_file(std::string_view root, std::string_view name);
std::string dns_log_file(std::string_view root, std::string_view name);
std::string networks_lock_file(std::string_view root);

}  // namespace slipway::netns
