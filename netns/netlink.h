// A route-netlink connection (libnl-route-3) bound to the network namespace of the thread that
// opened it: links, bridges, addresses and routes. Every request waits for the kernel's answer,
// and a refusal becomes an Error carrying the kernel's errno and its extended-ack text.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "netns/cidr.h"

struct rtnl_link;

namespace slipway::netns {

struct LinkInfo {
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "bridge", "veth", "dummy"; "" for physical and lo
  int index = 0;
  int master = 0;  // ifindex of the bridge this link is enslaved to, 0 if none
  int mtu = 0;
  bool up = false;  // administratively up (IFF_UP)
  std::string alias;  // IFLA_IFALIAS, "" if none
};

// One IPv4 route of the main table.
struct Ipv4Route {
  Cidr destination;
  std::string ifname;  // output device of the first next hop, "" if none
  std::optional<Ipv4> gateway;
};

// Not thread-safe: one thread at a time per connection (requests and answers share a socket).
class Netlink {
 public:
  // Connects in the calling thread's network namespace; the connection stays in that namespace
  // even when used from other threads later.
  static Result<Netlink> open();

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Creates bridge `name` (down, no address). An existing bridge of that name is success, so two
  // processes racing to create it both succeed; an existing link of another kind is an error.
  Status create_bridge(const std::string& name, int mtu);
  Status link_up(const std::string& name);
  // Sets IFLA_IFALIAS, the free-form description `ip link` shows as "alias".
  Status set_alias(const std::string& name, const std::string& alias);
  // Sets IFF_UP and, when mtu > 0, the MTU in one request.
  Status set_link(const std::string& name, bool up, int mtu);
  // Adds ip/prefix (with its broadcast address) to ifname; the same address already there is
  // success.
  Status add_address(const std::string& ifname, Ipv4 ip, int prefix);
  // IPv4 addresses of ifname as (address, prefix) pairs.
  Result<std::vector<std::pair<Ipv4, int>>> addresses(const std::string& ifname);
  // The interface's primary IPv4 address and prefix, nullopt when it has none: two ioctls, where
  // addresses() dumps every address of the host (one per container veth on a busy bridge).
  Result<std::optional<std::pair<Ipv4, int>>> primary_address(const std::string& ifname);
  Status add_default_route(Ipv4 gateway);
  // Deletes link `name`; a link that does not exist is success. Costs 15-35 ms of kernel RCU
  // waiting, so keep it off start paths.
  Status delete_link(const std::string& name);
  Result<bool> link_exists(const std::string& name);
  // The link's facts; ENODEV error when missing.
  Result<LinkInfo> link(const std::string& name);
  Result<std::vector<LinkInfo>> links();
  // IPv4 routes of the main table, of every type: a blackhole or unreachable route claims its
  // addresses as much as a device route does.
  Result<std::vector<Ipv4Route>> routes();

  // Sends RTM_NEWLINK for a prepared libnl link object with NLM_F_* flags; `what` names the
  // operation in errors. For callers building links libnl offers no helper for (veth pairs).
  Status add_link(struct rtnl_link* link, int flags, std::string_view what);

  struct Impl;  // opaque: the libnl socket and the kernel's answer to the last request

 private:
  explicit Netlink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace slipway::netns
