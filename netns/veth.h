// A container's link to a bridge: a veth pair created in one request with its peer already
// inside the container's network namespace, then configured there (address, route, MTU). Nothing
// on this path deletes a device: the host end disappears by itself when the container netns dies.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "netns/cidr.h"
#include "netns/netlink.h"

namespace slipway::netns {

// Prefix of every host-side veth slipway makes (gc deletes those of its own dead containers).
inline constexpr std::string_view kHostVethPrefix = "slv";

// "slv" + the first 12 hex digits of the container id (15 chars, the Linux limit). An id that is
// not at least 12 hex digits is hashed instead, so the name is always a valid, stable ifname.
std::string host_veth_name(std::string_view container_id);

// One RTM_NEWLINK: veth host_ifname (in nl's namespace, enslaved to `bridge`, up) and its peer
// peer_ifname created directly in target_netns_fd, both with `mtu`.
Status create_veth_into(Netlink& nl, const std::string& host_ifname, const std::string& bridge,
                        int target_netns_fd, const std::string& peer_ifname, int mtu);
// The same with a connection opened in the calling thread's network namespace.
Status create_veth_into(const std::string& host_ifname, const std::string& bridge,
                        int target_netns_fd, const std::string& peer_ifname = "eth0",
                        int mtu = 1500);

// Inside netns_fd (via in_netns): lo up, ip/prefix on peer_ifname, peer_ifname up with mtu,
// default route via gateway.
Status configure_container_interface(int netns_fd, const std::string& peer_ifname, Ipv4 ip,
                                     int prefix, Ipv4 gateway, int mtu);

}  // namespace slipway::netns
