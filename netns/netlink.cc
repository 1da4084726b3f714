#include "netns/netlink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>
#include <map>

#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "netns/ifname.h"

namespace slipway::netns {

namespace {

// Some libnl calls (rtnl_link_get_kernel) install their own error callback, so only libnl's code
// comes back; map the common ones back to the errno they came from.
int nl_to_errno(int nl_err) {
  switch (nl_err < 0 ? -nl_err : nl_err) {
    case NLE_NODEV:
      return ENODEV;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_EXIST:
      return EEXIST;
    case NLE_PERM:
      return EPERM;
    case NLE_NOACCESS:
      return EACCES;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
      return EINVAL;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_RANGE:
      return ERANGE;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    default:
      return 0;
  }
}

}  // namespace

// The kernel's answer to the last request: libnl folds errnos into its own coarser codes
// ("Object not found" for ENODEV), so the error callback keeps the real errno and extack text.
struct Netlink::Impl {
  struct nl_sock* sock = nullptr;
  int kernel_errno = 0;
  std::string extack;

  ~Impl() {
    if (sock) nl_socket_free(sock);
  }

  void reset_error() {
    kernel_errno = 0;
    extack.clear();
  }

  // Turns a libnl return code into an Error: "what: strerror (extack)".
  Error error(int nl_err, std::string_view what) const {
    if (kernel_errno != 0) {
      std::string msg = fmt::format("{}: {}", what, std::strerror(kernel_errno));
      if (!extack.empty()) msg += fmt::format(" ({})", extack);
      return Error(kernel_errno, std::move(msg));
    }
    return Error(nl_to_errno(nl_err), fmt::format("{}: {}", what, nl_geterror(nl_err)));
  }

  Status check(int nl_err, std::string_view what) const {
    if (nl_err >= 0) return {};
    return std::unexpected(error(nl_err, what));
  }
};

namespace {

// NLMSGERR_ATTR_MSG from an error message sent with NETLINK_EXT_ACK (TLVs after the echoed
// request header when NETLINK_CAP_ACK trims it).
std::string extack_message(const struct nlmsgerr* err) {
  auto* hdr =
      reinterpret_cast<const struct nlmsghdr*>(reinterpret_cast<const char*>(err) - NLMSG_HDRLEN);
  if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  size_t offset = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
  if (!(hdr->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
  offset = NLMSG_ALIGN(offset);
  const char* base = reinterpret_cast<const char*>(hdr);
  while (offset + NLA_HDRLEN <= hdr->nlmsg_len) {
    auto* attr = reinterpret_cast<const struct nlattr*>(base + offset);
    if (attr->nla_len < NLA_HDRLEN || offset + attr->nla_len > hdr->nlmsg_len) break;
    if ((attr->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      const char* text = base + offset + NLA_HDRLEN;
      return std::string(text, ::strnlen(text, attr->nla_len - NLA_HDRLEN));
    }
    offset += NLA_ALIGN(attr->nla_len);
  }
  return {};
}

int on_kernel_error(struct sockaddr_nl*, struct nlmsgerr* err, void* arg) {
  auto* impl = static_cast<Netlink::Impl*>(arg);
  impl->kernel_errno = -err->error;
  impl->extack = extack_message(err);
  return NL_STOP;  // libnl then returns its own code for this errno
}

struct LinkPut {
  void operator()(struct rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<struct rtnl_link, LinkPut>;

struct AddrPut {
  void operator()(struct nl_addr* a) const { nl_addr_put(a); }
};
using NlAddrPtr = std::unique_ptr<struct nl_addr, AddrPut>;

struct CachePut {
  void operator()(struct nl_cache* c) const { nl_cache_free(c); }
};
using CachePtr = std::unique_ptr<struct nl_cache, CachePut>;

Result<NlAddrPtr> make_addr(Ipv4 ip, int prefix) {
  uint32_t be = htonl(ip.value);
  NlAddrPtr a(nl_addr_build(AF_INET, &be, sizeof be));
  if (!a) return fail("allocate netlink address: out of memory");
  nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

Ipv4 addr_to_ipv4(struct nl_addr* a) {
  if (!a || nl_addr_get_family(a) != AF_INET || nl_addr_get_len(a) != 4) return Ipv4{0};
  uint32_t be;
  std::memcpy(&be, nl_addr_get_binary_addr(a), 4);
  return Ipv4{ntohl(be)};
}

LinkInfo to_link_info(struct rtnl_link* l) {
  LinkInfo info;
  const char* name = rtnl_link_get_name(l);
  const char* kind = rtnl_link_get_type(l);
  info.name = name ? name : "";
  info.kind = kind ? kind : "";
  info.index = rtnl_link_get_ifindex(l);
  info.master = rtnl_link_get_master(l);
  info.mtu = static_cast<int>(rtnl_link_get_mtu(l));
  info.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
  const char* alias = rtnl_link_get_ifalias(l);
  info.alias = alias ? alias : "";
  return info;
}

Status check_ifname(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return fail("invalid interface name \"{}\": must be 1-{} characters", name, IFNAMSIZ - 1);
  return {};
}

}  // namespace

Result<Netlink> Netlink::open() {
  auto impl = std::make_unique<Impl>();
  impl->sock = nl_socket_alloc();
  if (!impl->sock) return fail("open netlink socket: out of memory");
  nl_socket_modify_err_cb(impl->sock, NL_CB_CUSTOM, on_kernel_error, impl.get());
  if (int err = nl_connect(impl->sock, NETLINK_ROUTE); err < 0)
    return fail("open netlink socket: {}", nl_geterror(err));
  // Extended acks make the kernel say which attribute it refused; old kernels ignore these.
  int one = 1;
  int fd = nl_socket_get_fd(impl->sock);
  ::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  return Netlink(std::move(impl));
}

Netlink::Netlink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

Status Netlink::add_link(struct rtnl_link* link, int flags, std::string_view what) {
  impl_->reset_error();
  return impl_->check(rtnl_link_add(impl_->sock, link, flags), what);
}

Status Netlink::create_bridge(const std::string& name, int mtu) {
  SLW_TRY(check_ifname(name));
  LinkPtr link(rtnl_link_alloc());
  if (!link) return fail("create bridge {}: out of memory", name);
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), "bridge"); err < 0)
    return fail("create bridge {}: {}", name, nl_geterror(err));
  if (mtu > 0) rtnl_link_set_mtu(link.get(), static_cast<unsigned>(mtu));
  std::array<uint8_t, 6> mac = stable_mac(name);
  nl_addr* address = nl_addr_build(AF_LLC, mac.data(), mac.size());
  if (!address) return fail("create bridge {}: out of memory", name);
  rtnl_link_set_addr(link.get(), address);
  nl_addr_put(address);
  auto added =
      add_link(link.get(), NLM_F_CREATE | NLM_F_EXCL, fmt::format("create bridge {}", name));
  if (added || added.error().code() != EEXIST) return added;
  // Someone else made it first (another slipway process) or it is left from an earlier run.
  LinkInfo existing = SLW_TRY_CTX(this->link(name), "create bridge {}", name);
  if (existing.kind != "bridge")
    return fail("create bridge {}: a link of that name exists and is not a bridge (kind \"{}\")",
                name, existing.kind);
  return {};
}

Status Netlink::set_link(const std::string& name, bool up, int mtu) {
  SLW_TRY(check_ifname(name));
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return fail("change link {}: out of memory", name);
  // Without an ifindex, RTM_NEWLINK without NLM_F_CREATE finds the link by IFLA_IFNAME and
  // changes it: one round trip, no lookup first.
  rtnl_link_set_name(changes.get(), name.c_str());
  if (up) rtnl_link_set_flags(changes.get(), IFF_UP);
  if (mtu > 0) rtnl_link_set_mtu(changes.get(), static_cast<unsigned>(mtu));
  std::string what = up && mtu > 0 ? fmt::format("bring up link {} with mtu {}", name, mtu)
                     : up          ? fmt::format("bring up link {}", name)
                                   : fmt::format("set mtu of link {} to {}", name, mtu);
  return add_link(changes.get(), 0, what);
}

Status Netlink::link_up(const std::string& name) {
  return set_link(name, true, 0);
}

Status Netlink::set_alias(const std::string& name, const std::string& alias) {
  SLW_TRY(check_ifname(name));
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return fail("change link {}: out of memory", name);
  rtnl_link_set_name(changes.get(), name.c_str());
  rtnl_link_set_ifalias(changes.get(), alias.c_str());
  return add_link(changes.get(), 0, fmt::format("set alias of link {}", name));
}

Result<LinkInfo> Netlink::link(const std::string& name) {
  SLW_TRY(check_ifname(name));
  impl_->reset_error();
  struct rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(impl_->sock, 0, name.c_str(), &raw);
  LinkPtr l(raw);
  if (err < 0) {
    Error e = impl_->error(err, fmt::format("look up link {}", name));
    if (e.code() == ENODEV) e = Error(ENODEV, fmt::format("look up link {}: no such link", name));
    return std::unexpected(std::move(e));
  }
  return to_link_info(l.get());
}

Result<bool> Netlink::link_exists(const std::string& name) {
  auto l = link(name);
  if (l) return true;
  if (l.error().code() == ENODEV) return false;
  return std::unexpected(std::move(l).error());
}

Result<std::vector<LinkInfo>> Netlink::links() {
  impl_->reset_error();
  struct nl_cache* raw = nullptr;
  int err = rtnl_link_alloc_cache(impl_->sock, AF_UNSPEC, &raw);
  CachePtr cache(raw);
  SLW_TRY(impl_->check(err, "list links"));
  std::vector<LinkInfo> out;
  for (struct nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
    out.push_back(to_link_info(reinterpret_cast<struct rtnl_link*>(o)));
  return out;
}

Status Netlink::delete_link(const std::string& name) {
  SLW_TRY(check_ifname(name));
  LinkPtr link(rtnl_link_alloc());
  if (!link) return fail("delete link {}: out of memory", name);
  rtnl_link_set_name(link.get(), name.c_str());
  impl_->reset_error();
  int err = rtnl_link_delete(impl_->sock, link.get());
  if (err < 0 && impl_->error(err, "").code() == ENODEV) return {};
  return impl_->check(err, fmt::format("delete link {}", name));
}

Status Netlink::add_address(const std::string& ifname, Ipv4 ip, int prefix) {
  std::string what = fmt::format("add address {}/{} to {}", ip.to_string(), prefix, ifname);
  if (prefix < 0 || prefix > 32) return fail("{}: invalid prefix", what);
  LinkInfo l = SLW_TRY_CTX(link(ifname), "{}", what);
  struct rtnl_addr* raw = rtnl_addr_alloc();
  if (!raw) return fail("{}: out of memory", what);
  ScopeExit put([raw] { rtnl_addr_put(raw); });
  rtnl_addr_set_ifindex(raw, l.index);
  rtnl_addr_set_family(raw, AF_INET);
  NlAddrPtr local = SLW_TRY(make_addr(ip, prefix));
  if (int err = rtnl_addr_set_local(raw, local.get()); err < 0)
    return fail("{}: {}", what, nl_geterror(err));
  rtnl_addr_set_prefixlen(raw, prefix);
  if (prefix < 31) {
    Cidr net{Ipv4{ip.value & Cidr{Ipv4{}, prefix}.mask()}, prefix};
    NlAddrPtr brd = SLW_TRY(make_addr(net.broadcast(), 32));
    rtnl_addr_set_broadcast(raw, brd.get());
  }
  impl_->reset_error();
  int err = rtnl_addr_add(impl_->sock, raw, NLM_F_EXCL);
  if (err < 0 && impl_->error(err, "").code() == EEXIST) return {};
  return impl_->check(err, what);
}

Result<std::vector<std::pair<Ipv4, int>>> Netlink::addresses(const std::string& ifname) {
  LinkInfo l = SLW_TRY_CTX(link(ifname), "list addresses of {}", ifname);
  impl_->reset_error();
  struct nl_cache* raw = nullptr;
  int err = rtnl_addr_alloc_cache(impl_->sock, &raw);
  CachePtr cache(raw);
  SLW_TRY(impl_->check(err, fmt::format("list addresses of {}", ifname)));
  std::vector<std::pair<Ipv4, int>> out;
  for (struct nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<struct rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != l.index || rtnl_addr_get_family(a) != AF_INET) continue;
    out.emplace_back(addr_to_ipv4(rtnl_addr_get_local(a)), rtnl_addr_get_prefixlen(a));
  }
  return out;
}

Result<std::optional<std::pair<Ipv4, int>>> Netlink::primary_address(const std::string& ifname) {
  SLW_TRY(check_ifname(ifname));
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno(fmt::format("address of {}: socket", ifname));
  ifreq req{};
  std::memcpy(req.ifr_name, ifname.c_str(), ifname.size());  // checked: shorter than IFNAMSIZ
  if (::ioctl(fd.get(), SIOCGIFADDR, &req) < 0) {
    if (errno == EADDRNOTAVAIL) return std::nullopt;
    return fail_errno(fmt::format("address of {}", ifname));
  }
  Ipv4 ip{ntohl(reinterpret_cast<const sockaddr_in*>(&req.ifr_addr)->sin_addr.s_addr)};
  if (::ioctl(fd.get(), SIOCGIFNETMASK, &req) < 0) return fail_errno(fmt::format("netmask of {}", ifname));
  uint32_t mask = ntohl(reinterpret_cast<const sockaddr_in*>(&req.ifr_netmask)->sin_addr.s_addr);
  return std::make_pair(ip, __builtin_popcount(mask));
}

Status Netlink::add_default_route(Ipv4 gateway) {
  std::string what = fmt::format("add default route via {}", gateway.to_string());
  struct rtnl_route* route = rtnl_route_alloc();
  if (!route) return fail("{}: out of memory", what);
  ScopeExit put([route] { rtnl_route_put(route); });
  rtnl_route_set_family(route, AF_INET);
  rtnl_route_set_table(route, RT_TABLE_MAIN);
  rtnl_route_set_protocol(route, RTPROT_BOOT);
  rtnl_route_set_type(route, RTN_UNICAST);
  rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
  NlAddrPtr dst = SLW_TRY(make_addr(Ipv4{}, 0));
  if (int err = rtnl_route_set_dst(route, dst.get()); err < 0)
    return fail("{}: {}", what, nl_geterror(err));
  NlAddrPtr gw = SLW_TRY(make_addr(gateway, 32));
  struct rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return fail("{}: out of memory", what);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route, nh);  // the route owns nh from here on
  impl_->reset_error();
  return impl_->check(rtnl_route_add(impl_->sock, route, NLM_F_EXCL), what);
}

Result<std::vector<Ipv4Route>> Netlink::routes() {
  std::vector<LinkInfo> all_links = SLW_TRY_CTX(links(), "list routes");
  std::map<int, std::string> names;
  for (auto& l : all_links) names[l.index] = l.name;

  impl_->reset_error();
  struct nl_cache* raw = nullptr;
  int err = rtnl_route_alloc_cache(impl_->sock, AF_INET, 0, &raw);
  CachePtr cache(raw);
  SLW_TRY(impl_->check(err, "list routes"));
  std::vector<Ipv4Route> out;
  for (struct nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<struct rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN) continue;
    struct nl_addr* dst = rtnl_route_get_dst(r);
    Ipv4Route route;
    int prefix = dst ? static_cast<int>(nl_addr_get_prefixlen(dst)) : 0;
    route.destination = Cidr{addr_to_ipv4(dst), prefix};
    route.destination.network.value &= route.destination.mask();
    if (rtnl_route_get_nnexthops(r) > 0) {
      struct rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      if (auto it = names.find(rtnl_route_nh_get_ifindex(nh)); it != names.end())
        route.ifname = it->second;
      if (struct nl_addr* gw = rtnl_route_nh_get_gateway(nh)) route.gateway = addr_to_ipv4(gw);
    }
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace slipway::netns
