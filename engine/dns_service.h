// The service DNS of a network runs as its own small process, `slipway network dns-serve NAME`,
// started by the first container that joins the network and gone a few seconds after the last
// one leaves: containers of different `slipway run` processes share it, and no daemon is needed.
// It answers the names in the network's leases on the gateway address, port 53, and relays every
// other name to the host's resolvers (from the host's namespace, where even a 127.0.0.53 stub is
// reachable).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "netns/ipam.h"
#include "netns/network.h"

namespace slipway::engine {

// How long the DNS process stays with no container on its network.
inline constexpr std::chrono::milliseconds kDnsIdleExit{3000};

// Starts the network's DNS process unless one already holds its lock; returns once it answers.
Status ensure_dns_service(const std::string& root, const netns::Network& network);

// The body of `network dns-serve`: serves until idle or the network is removed. Writes one byte
// to ready_fd (if >= 0) once it listens.
Result<int> serve_network_dns(const std::string& root, const std::string& network_name, int ready_fd);

// The names of a network's leases, indexed (pure): "web" and "web.<domain>" both match a lease
// name, case-insensitively, giving the address of every lease with that name; an address gives its
// first lease's first name. Made once per change of the lease file, so that an answer costs the
// same with 2 containers on the network or 2,000.
class LeaseNames {
 public:
  LeaseNames() = default;
  LeaseNames(const std::vector<netns::Lease>& leases, std::string_view domain);

  std::optional<std::vector<netns::Ipv4>> resolve(std::string_view fqdn) const;
  std::optional<std::string> reverse(netns::Ipv4 ip) const;
  bool empty() const { return leases_ == 0; }

 private:
  std::string suffix_;  // "." + the domain, lowercase
  std::unordered_map<std::string, std::vector<netns::Ipv4>> by_name_;  // lowercase name
  std::unordered_map<uint32_t, std::string> by_address_;
  size_t leases_ = 0;
};

}  // namespace slipway::engine
