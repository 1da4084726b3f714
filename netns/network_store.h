// Networks persisted as <root>/networks/<name>.json; create and remove hold a flock on
// <root>/networks/.lock so concurrent slipway processes see one consistent set of networks.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "netns/netlink.h"
#include "netns/network.h"

namespace slipway::netns {

// IPv4 routes of the main table in the calling thread's network namespace.
Result<std::vector<Ipv4Route>> host_routes();

class NetworkStore {
 public:
  // Where `create` gets the host routes it must not overlap; tests pass a fixed list.
  using RouteSource = std::function<Result<std::vector<Ipv4Route>>()>;

  explicit NetworkStore(std::string root, RouteSource routes = host_routes);

  // Validates with plan_network (name, subnet overlap, gateway, domain) and writes the file.
  // The bridge is made later, by ensure_bridge, when the first container joins.
  Result<Network> create(const std::string& name, const NetworkOptions& options = {});
  // "network X not found" when missing.
  Result<Network> get(const std::string& name) const;
  // All networks, sorted by name.
  Result<std::vector<Network>> list() const;
  // Refused while leases exist ("network X has N containers attached"); deletes the bridge if
  // it exists, its nftables rules, the leases, the network file and the DNS process's files (unless it still runs:
  // then it removes them itself as it exits).
  Status remove(const std::string& name);
  // For gc: the files of networks that no longer exist (what a killed `network rm` or DNS
  // process left) and the half-written files of killed writers. A file that a live process
  // holds or writes stays. Returns the names of the removed files.
  Result<std::vector<std::string>> remove_orphan_files();
  // The default network "slipway" (subnet from $SLIPWAY_DEFAULT_SUBNET, else 172.18.0.0/16, else
  // when that is taken the first free subnet), created on first use.
  Result<Network> ensure_default();

  const std::string& root() const { return root_; }

 private:
  Result<Network> create_locked(const std::string& name, const NetworkOptions& options);
  Result<Cidr> default_subnet() const;

  std::string root_;
  RouteSource routes_;
};

// Creates the network's bridge with the gateway address, installs its nftables rules (egress, or
// isolation for an internal network: netns/egress.h) and brings it up, unless it is already up
// with its rules. Idempotent and safe when several processes race: all of them succeed.
Status ensure_bridge(const Network& network);

}  // namespace slipway::netns
