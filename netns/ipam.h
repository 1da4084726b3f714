// Address leases of one network, in <root>/networks/<name>.leases.json under a flock, so
// concurrent `slipway run` processes never get the same address. A lease records the owning
// container and the process (pid + start time) whose death makes it reclaimable by gc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "netns/cidr.h"
#include "netns/network.h"

namespace slipway::netns {

struct Lease {
  Ipv4 ip;
  std::string owner;               // container id
  std::vector<std::string> names;  // container name, hostname, aliases: what DNS answers for
  pid_t pid = 0;                   // owning process; with start_time tells a reused pid apart
  uint64_t start_time = 0;         // /proc/PID/stat starttime of pid
  bool operator==(const Lease&) const = default;
};

// The contents of a leases file.
struct LeaseTable {
  std::vector<Lease> leases;
  // Where the next search starts: addresses go round-robin, so one a container just released is
  // not handed out again while peers may still hold it in ARP caches, conntrack or DNS caches.
  std::optional<Ipv4> last;
  bool operator==(const LeaseTable&) const = default;
};

// Picks the address for a new lease: `requested` if it is a free host address of the subnet
// other than the gateway, else the first free one after `table.last` (after the gateway when
// nothing was handed out yet), wrapping around.
Result<Ipv4> choose_address(const Network& network, const LeaseTable& table,
                            std::optional<Ipv4> requested);

std::string lease_table_to_json(const LeaseTable& table);
Result<LeaseTable> lease_table_from_json(std::string_view text, std::string_view what);

class Ipam {
 public:
  Ipam(std::string root, Network network);

  // Leases an address to owner. An owner that already has a lease gets it back (names and
  // process updated) unless it asks for another address. Fails when the network was removed.
  Result<Lease> allocate(const std::string& owner, std::vector<std::string> names,
                         std::optional<Ipv4> requested, pid_t owner_pid, uint64_t owner_start_time);
  // Frees owner's lease; no lease is success (release runs on every removal path).
  Status release(const std::string& owner);
  // The current leases, read without the lock (the file is replaced atomically).
  Result<std::vector<Lease>> leases() const;
  // Drops every lease whose owner is_alive says is dead and returns the dropped ones.
  Result<std::vector<Lease>> reclaim(const std::function<bool(const Lease&)>& is_alive);
  Status update_names(const std::string& owner, std::vector<std::string> names);
  // The process that now owns the lease (the container's supervisor once it runs).
  Status update_process(const std::string& owner, pid_t pid, uint64_t start_time);

  const Network& network() const { return network_; }

 private:
  // Runs edit on the table under the lock and writes it back when edit returns true.
  Status modify(std::string_view what, const std::function<Result<bool>(LeaseTable&)>& edit);
  Result<LeaseTable> load() const;

  std::string root_;
  Network network_;
};

}  // namespace slipway::netns
