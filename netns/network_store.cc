#include "netns/network_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "base/file_lock.h"
#include "base/fs.h"
#include "netns/egress.h"
#include "netns/ipam.h"

namespace slipway::netns {
namespace {

// The suffixes of a network's files in networks_dir, longest first.
constexpr std::string_view kNetworkFileSuffixes[] = {".leases.json", ".leases.lock", ".dns.lock",
                                                     ".dns.log", ".json"};

// The network a file belongs to ("ci.dns.log" -> "ci"); "" for a file that is no network's.
std::string network_of_file(std::string_view file) {
  for (std::string_view suffix : kNetworkFileSuffixes) {
    if (file.size() > suffix.size() && file.ends_with(suffix)) {
      std::string name(file.substr(0, file.size() - suffix.size()));
      return validate_network_name(name) ? name : "";
    }
  }
  return "";
}

Status unlink_if_present(const std::string& path) {
  if (::unlink(path.c_str()) < 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove {}", path));
  return {};
}

// Removes the DNS process's lock and log of a removed network, unless a DNS process still holds
// the lock. Returns whether they are gone.
Result<bool> remove_dns_files(const std::string& root, const std::string& name) {
  std::string lock_path = dns_lock_file(root, name);
  auto lock = SLW_TRY(FileLock::try_acquire(lock_path, FileLock::Mode::kExclusive, false));
  if (!lock && fs::exists(lock_path)) return false;  // it still serves
  SLW_TRY(unlink_if_present(dns_log_file(root, name)));
  if (lock) SLW_TRY(lock->remove());
  return true;
}

}  // namespace

Result<std::vector<Ipv4Route>> host_routes() {
  Netlink nl = SLW_TRY_CTX(Netlink::open(), "list host routes");
  return nl.routes();
}

NetworkStore::NetworkStore(std::string root, RouteSource routes)
    : root_(std::move(root)), routes_(std::move(routes)) {}

Result<Network> NetworkStore::get(const std::string& name) const {
  SLW_TRY(validate_network_name(name));
  std::string path = network_file(root_, name);
  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().code() == ENOENT)
      return std::unexpected(Error(ENOENT, fmt::format("network {} not found", name)));
    return std::unexpected(std::move(text).error().context(fmt::format("network {}", name)));
  }
  Network n = SLW_TRY(network_from_json(*text, path));
  if (n.name != name) return fail("{}: holds network \"{}\", not {}", path, n.name, name);
  return n;
}

Result<std::vector<Network>> NetworkStore::list() const {
  std::string dir = networks_dir(root_);
  if (!fs::is_dir(dir)) return std::vector<Network>{};
  std::vector<std::string> entries = SLW_TRY_CTX(fs::list_dir(dir), "list networks");
  std::vector<Network> out;
  for (const std::string& e : entries) {
    if (!e.ends_with(".json") || e.ends_with(".leases.json") || e.starts_with(".")) continue;
    std::string name = e.substr(0, e.size() - 5);
    if (!validate_network_name(name)) continue;  // not ours (an editor's backup, say)
    auto n = get(name);
    if (!n) {
      if (n.error().code() == ENOENT) continue;  // removed while we listed
      return std::unexpected(std::move(n).error());
    }
    out.push_back(std::move(*n));
  }
  return out;
}

Result<Network> NetworkStore::create_locked(const std::string& name,
                                            const NetworkOptions& options) {
  SLW_TRY(validate_network_name(name));
  std::vector<Network> existing = SLW_TRY(list());
  std::vector<Ipv4Route> routes = SLW_TRY_CTX(routes_(), "create network {}", name);
  std::vector<Cidr> reserved;
  if (name != kDefaultNetworkName) {
    // Keep the default network's subnet free even before the default network exists.
    if (auto d = default_subnet()) reserved.push_back(*d);
  }
  NetworkOptions with_bridge = options;
  if (!with_bridge.bridge) with_bridge.bridge = bridge_name_for(name, root_);
  Network net = SLW_TRY(plan_network(name, with_bridge, routes, existing, reserved));
  SLW_TRY_CTX(fs::write_file_atomic(network_file(root_, name), network_to_json(net)),
              "create network {}", name);
  return net;
}

Result<Network> NetworkStore::create(const std::string& name, const NetworkOptions& options) {
  SLW_TRY(validate_network_name(name));
  SLW_TRY_CTX(fs::make_dirs(networks_dir(root_)), "create network {}", name);
  FileLock lock =
      SLW_TRY_CTX(FileLock::acquire(networks_lock_file(root_)), "create network {}", name);
  return create_locked(name, options);
}

Status NetworkStore::remove(const std::string& name) {
  SLW_TRY(validate_network_name(name));
  if (!fs::is_dir(networks_dir(root_))) return fail("network {} not found", name);
  FileLock lock =
      SLW_TRY_CTX(FileLock::acquire(networks_lock_file(root_)), "remove network {}", name);
  Network net = SLW_TRY(get(name));
  // Holding the leases lock while deleting makes an allocate that waited on it see the
  // network gone instead of leasing on a removed network.
  FileLock leases_lock =
      SLW_TRY_CTX(FileLock::acquire(leases_lock_file(root_, name)), "remove network {}", name);
  std::vector<Lease> leases = SLW_TRY_CTX(Ipam(root_, net).leases(), "remove network {}", name);
  if (!leases.empty())
    return fail("network {} has {} container{} attached", name, leases.size(),
                leases.size() == 1 ? "" : "s");

  Netlink nl = SLW_TRY_CTX(Netlink::open(), "remove network {}", name);
  // Asking first keeps `network rm` of a never-used network free of CAP_NET_ADMIN.
  // Rules come with the bridge (ensure_bridge), so a network without one has none either; the
  // rules of a bridge whose removal was killed half way are gc's (prune_egress).
  if (SLW_TRY_CTX(nl.link_exists(net.bridge), "remove network {}", name)) {
    SLW_TRY_CTX(nl.delete_link(net.bridge), "remove network {}", name);
    SLW_TRY_CTX(remove_egress(net.bridge), "remove network {}", name);
  }

  for (const std::string& path : {leases_file(root_, name), network_file(root_, name)}) {
    if (::unlink(path.c_str()) < 0 && errno != ENOENT)
      return fail_errno(fmt::format("remove network {}: remove {}", name, path));
  }
  SLW_TRY_CTX(leases_lock.remove(), "remove network {}", name);
  // A DNS process that still serves sees the network gone within 250 ms and removes them itself.
  SLW_TRY_CTX(remove_dns_files(root_, name), "remove network {}", name);
  return {};
}

Result<std::vector<std::string>> NetworkStore::remove_orphan_files() {
  std::vector<std::string> removed;
  std::string dir = networks_dir(root_);
  if (!fs::is_dir(dir)) return removed;
  // No network is created or removed while this looks: "NAME.json is missing" stays true.
  FileLock lock =
      SLW_TRY_CTX(FileLock::acquire(networks_lock_file(root_)), "collect network files");
  removed = SLW_TRY_CTX(fs::remove_stale_atomic_writes(dir), "collect network files");
  std::vector<std::string> files = SLW_TRY_CTX(fs::list_dir(dir), "collect network files");
  std::vector<std::string> orphans;
  for (const std::string& file : files) {
    std::string name = network_of_file(file);
    if (name.empty() || fs::exists(network_file(root_, name))) continue;
    if (std::find(orphans.begin(), orphans.end(), name) == orphans.end()) orphans.push_back(name);
  }
  for (const std::string& name : orphans) {
    std::string what = fmt::format("collect files of removed network {}", name);
    // Ipam refuses to write leases of a missing network, so its leases lock is held only briefly.
    std::string leases_lock_path = leases_lock_file(root_, name);
    auto leases_lock = SLW_TRY_CTX(
        FileLock::try_acquire(leases_lock_path, FileLock::Mode::kExclusive, false), "{}", what);
    if (leases_lock || !fs::exists(leases_lock_path)) {
      SLW_TRY_CTX(unlink_if_present(leases_file(root_, name)), "{}", what);
      if (leases_lock) SLW_TRY_CTX(leases_lock->remove(), "{}", what);
    }
    leases_lock.reset();
    SLW_TRY_CTX(remove_dns_files(root_, name), "{}", what);
    for (std::string_view suffix : kNetworkFileSuffixes) {
      std::string file = name + std::string(suffix);
      if (std::find(files.begin(), files.end(), file) != files.end() &&
          !fs::exists(fs::join(dir, file)))
        removed.push_back(file);
    }
  }
  return removed;
}

Result<Cidr> NetworkStore::default_subnet() const {
  const char* env = std::getenv(std::string(kDefaultSubnetEnv).c_str());
  if (env && *env) return SLW_TRY_CTX(parse_cidr(env), "${}", kDefaultSubnetEnv);
  return parse_cidr(kDefaultSubnet);
}

Result<Network> NetworkStore::ensure_default() {
  const std::string name(kDefaultNetworkName);
  if (auto n = get(name)) return n;
  SLW_TRY_CTX(fs::make_dirs(networks_dir(root_)), "create default network {}", name);
  FileLock lock =
      SLW_TRY_CTX(FileLock::acquire(networks_lock_file(root_)), "create default network {}", name);
  if (auto n = get(name)) return n;  // made by another process while we waited
  NetworkOptions options;
  options.subnet = SLW_TRY_CTX(default_subnet(), "create default network {}", name);
  auto made = create_locked(name, options);
  const char* env = std::getenv(std::string(kDefaultSubnetEnv).c_str());
  if (!made && !(env && *env)) {
    // The seed's subnet is taken (another root's default network, a host route): a free one, as
    // `network create` picks, rather than no builds and no default network under this root.
    if (auto free = create_locked(name, NetworkOptions{})) return free;
  }
  if (!made)
    return std::unexpected(std::move(made).error().context(
        fmt::format("create default network (set ${} to use another subnet)", kDefaultSubnetEnv)));
  return made;
}

Status ensure_bridge(const Network& network) {
  std::string what = fmt::format("set up bridge {} of network {}", network.bridge, network.name);
  // Marks a bridge whose nftables rules are in place (netns/egress.h), so that every container
  // after the first skips nftables, and a bridge made before slipway had egress gets its rules.
  std::string marker = network.internal ? "slipway:internal" : "slipway:egress";
  Netlink nl = SLW_TRY_CTX(Netlink::open(), "{}", what);
  // Fast path for every container after the first. The address is checked too: a bridge left
  // up by an earlier network of the same name may carry another subnet. (A bridge whose primary
  // address is another one takes the slow path, which adds what is missing.)
  if (auto l = nl.link(network.bridge); l && l->kind == "bridge" && l->up && l->alias == marker) {
    auto primary = SLW_TRY_CTX(nl.primary_address(network.bridge), "{}", what);
    if (primary == std::make_pair(network.gateway, network.subnet.prefix)) return {};
  }
  SLW_TRY_CTX(nl.create_bridge(network.bridge, network.mtu), "{}", what);
  SLW_TRY_CTX(nl.add_address(network.bridge, network.gateway, network.subnet.prefix), "{}", what);
  SLW_TRY(install_egress(network));
  SLW_TRY_CTX(nl.set_alias(network.bridge, marker), "{}", what);
  SLW_TRY_CTX(nl.link_up(network.bridge), "{}", what);
  return {};
}

}  // namespace slipway::netns
