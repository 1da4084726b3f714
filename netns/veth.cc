#include "netns/veth.h"

#include <linux/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <algorithm>
#include <cctype>

#include "base/ascii.h"
#include "base/scope_exit.h"
#include "netns/ifname.h"
#include "netns/netns_fd.h"

namespace slipway::netns {

std::string host_veth_name(std::string_view container_id) {
  constexpr size_t kDigits = kMaxIfnameLength - kHostVethPrefix.size();
  std::string_view head = container_id.substr(0, kDigits);
  bool hex = head.size() == kDigits && std::all_of(head.begin(), head.end(), [](unsigned char c) {
               return std::isxdigit(c);
             });
  std::string suffix = hex ? std::string(head) : hash_hex(container_id, kDigits);
  return std::string(kHostVethPrefix) + ascii_lower(suffix);
}

Status create_veth_into(Netlink& nl, const std::string& host_ifname, const std::string& bridge,
                        int target_netns_fd, const std::string& peer_ifname, int mtu) {
  std::string what =
      fmt::format("create veth {} (peer {}) on bridge {}", host_ifname, peer_ifname, bridge);
  if (!is_valid_ifname(host_ifname)) return fail("{}: invalid host interface name", what);
  if (!is_valid_ifname(peer_ifname)) return fail("{}: invalid container interface name", what);
  if (mtu < 68 || mtu > 65535) return fail("{}: invalid mtu {}", what, mtu);
  LinkInfo br = SLW_TRY_CTX(nl.link(bridge), "{}", what);
  if (br.kind != "bridge") return fail("{}: {} is a {} link, not a bridge", what, bridge, br.kind);

  struct rtnl_link* veth = rtnl_link_veth_alloc();
  if (!veth) return fail("{}: out of memory", what);
  ScopeExit put_veth([veth] { rtnl_link_put(veth); });
  rtnl_link_set_name(veth, host_ifname.c_str());
  rtnl_link_set_mtu(veth, static_cast<unsigned>(mtu));
  rtnl_link_set_master(veth, br.index);
  rtnl_link_set_flags(veth, IFF_UP);

  struct rtnl_link* peer = rtnl_link_veth_get_peer(veth);  // takes a reference
  if (!peer) return fail("{}: libnl gave no veth peer", what);
  ScopeExit put_peer([peer] { rtnl_link_put(peer); });
  rtnl_link_set_name(peer, peer_ifname.c_str());
  rtnl_link_set_mtu(peer, static_cast<unsigned>(mtu));
  // IFLA_NET_NS_FD on the peer: the kernel creates it in the target namespace, so there is no
  // move afterwards (a move costs as much as a delete) and no window with both ends on the host.
  rtnl_link_set_ns_fd(peer, target_netns_fd);

  return nl.add_link(veth, NLM_F_CREATE | NLM_F_EXCL, what);
}

Status create_veth_into(const std::string& host_ifname, const std::string& bridge,
                        int target_netns_fd, const std::string& peer_ifname, int mtu) {
  Netlink nl = SLW_TRY_CTX(Netlink::open(), "create veth {}", host_ifname);
  return create_veth_into(nl, host_ifname, bridge, target_netns_fd, peer_ifname, mtu);
}

Status configure_container_interface(int netns_fd, const std::string& peer_ifname, Ipv4 ip,
                                     int prefix, Ipv4 gateway, int mtu) {
  std::string what = fmt::format("configure {} with {}/{} in the container network namespace",
                                 peer_ifname, ip.to_string(), prefix);
  if (prefix < 1 || prefix > 30) return fail("{}: prefix must be 1-30", what);
  Cidr subnet{Ipv4{ip.value & Cidr{Ipv4{}, prefix}.mask()}, prefix};
  if (!subnet.contains(gateway) || gateway == ip)
    return fail("{}: gateway {} is not another address of {}", what, gateway.to_string(),
                subnet.to_string());
  return with_context(in_netns(netns_fd,
                               [&]() -> Status {
                                 Netlink nl = SLW_TRY(Netlink::open());
                                 SLW_TRY(nl.link_up("lo"));
                                 SLW_TRY(nl.add_address(peer_ifname, ip, prefix));
                                 SLW_TRY(nl.set_link(peer_ifname, true, mtu));
                                 SLW_TRY(nl.add_default_route(gateway));
                                 return {};
                               }),
                      what);
}

}  // namespace slipway::netns
