#include "netns/ipam.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "base/file_lock.h"
#include "base/fs.h"

namespace slipway::netns {

namespace {

// "container 0123456789ab (web)": ids shortened as Docker shows them, with the first name.
std::string describe_owner(const Lease& lease) {
  std::string id = lease.owner;
  if (id.size() == 64 &&
      std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isxdigit(c); }))
    id.resize(12);
  if (lease.names.empty()) return fmt::format("container {}", id);
  return fmt::format("container {} ({})", id, lease.names.front());
}

}  // namespace

Result<Ipv4> choose_address(const Network& network, const LeaseTable& table,
                            std::optional<Ipv4> requested) {
  const Cidr& subnet = network.subnet;
  if (subnet.prefix > 30)
    return fail("network {}: subnet {} has no room for containers", network.name,
                subnet.to_string());
  if (requested) {
    std::string ip = requested->to_string();
    if (!subnet.contains(*requested))
      return fail("address {} is not in subnet {} of network {}", ip, subnet.to_string(),
                  network.name);
    if (*requested == subnet.network)
      return fail("address {} is the network address of subnet {}", ip, subnet.to_string());
    if (*requested == subnet.broadcast())
      return fail("address {} is the broadcast address of subnet {}", ip, subnet.to_string());
    if (*requested == network.gateway)
      return fail("address {} is the gateway of network {}", ip, network.name);
    for (const Lease& l : table.leases)
      if (l.ip == *requested)
        return fail("address {} is already in use by {}", ip, describe_owner(l));
    return *requested;
  }

  std::set<uint32_t> used{network.gateway.value};
  for (const Lease& l : table.leases) used.insert(l.ip.value);
  const uint32_t first = subnet.network.value + 1;
  const uint32_t last = subnet.broadcast().value - 1;
  const uint64_t hosts = uint64_t{last} - first + 1;
  // Offset (from `first`) of the address the search starts at: the one after the last handed
  // out, else the one after the gateway; a `last` outside the subnet (edited file) restarts it.
  uint32_t after = table.last ? table.last->value : network.gateway.value;
  uint64_t offset = (after >= first && after <= last) ? uint64_t{after} - first + 1 : 0;
  for (uint64_t k = 0; k < hosts; ++k) {
    uint32_t candidate = first + static_cast<uint32_t>((offset + k) % hosts);
    if (!used.contains(candidate)) return Ipv4{candidate};
  }
  return fail("network {} has no free address left in {} ({} leased)", network.name,
              subnet.to_string(), table.leases.size());
}

std::string lease_table_to_json(const LeaseTable& table) {
  nlohmann::ordered_json leases = nlohmann::ordered_json::array();
  for (const Lease& l : table.leases)
    leases.push_back({{"ip", l.ip.to_string()},
                      {"owner", l.owner},
                      {"names", l.names},
                      {"pid", l.pid},
                      {"start_time", l.start_time}});
  nlohmann::ordered_json j{{"version", 1}};
  if (table.last) j["last"] = table.last->to_string();
  j["leases"] = std::move(leases);
  return j.dump(2) + "\n";
}

Result<LeaseTable> lease_table_from_json(std::string_view text, std::string_view what) {
  LeaseTable table;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.contains("last"))
      table.last = SLW_TRY_CTX(parse_ipv4(j.at("last").get<std::string>()), "{}", what);
    for (const auto& e : j.at("leases")) {
      Lease l;
      l.ip = SLW_TRY_CTX(parse_ipv4(e.at("ip").get<std::string>()), "{}", what);
      l.owner = e.at("owner").get<std::string>();
      l.names = e.value("names", std::vector<std::string>{});
      l.pid = e.value("pid", pid_t{0});
      l.start_time = e.value("start_time", uint64_t{0});
      table.leases.push_back(std::move(l));
    }
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: {}", what, e.what());
  }
  return table;
}

Ipam::Ipam(std::string root, Network network)
    : root_(std::move(root)), network_(std::move(network)) {}

Result<LeaseTable> Ipam::load() const {
  std::string path = leases_file(root_, network_.name);
  if (!fs::exists(path)) return LeaseTable{};
  std::string text = SLW_TRY(fs::read_file(path));
  return lease_table_from_json(text, path);
}

Status Ipam::modify(std::string_view what, const std::function<Result<bool>(LeaseTable&)>& edit) {
  std::string ctx = fmt::format("{} on network {}", what, network_.name);
  SLW_TRY_CTX(fs::make_dirs(networks_dir(root_)), "{}", ctx);
  FileLock lock = SLW_TRY_CTX(FileLock::acquire(leases_lock_file(root_, network_.name)), "{}", ctx);
  // `network rm` holds this lock while it deletes the network, so checking here is race-free.
  if (!fs::exists(network_file(root_, network_.name))) {
    (void)lock.remove();  // the lock file we recreated while waiting would be left behind
    return fail("{}: network {} does not exist (removed?)", ctx, network_.name);
  }
  LeaseTable table = SLW_TRY_CTX(load(), "{}", ctx);
  bool changed = SLW_TRY(edit(table));
  if (!changed) return {};
  // No fsync: leases only matter while their owners run, and a power loss kills those too.
  return with_context(fs::write_file_atomic(leases_file(root_, network_.name),
                                            lease_table_to_json(table), 0644, false),
                      ctx);
}

Result<Lease> Ipam::allocate(const std::string& owner, std::vector<std::string> names,
                             std::optional<Ipv4> requested, pid_t owner_pid,
                             uint64_t owner_start_time) {
  if (owner.empty()) return fail("allocate address on network {}: empty owner", network_.name);
  Lease out;
  SLW_TRY(modify("allocate address", [&](LeaseTable& table) -> Result<bool> {
    auto mine = std::find_if(table.leases.begin(), table.leases.end(),
                             [&](const Lease& l) { return l.owner == owner; });
    if (mine != table.leases.end()) {
      if (requested && *requested != mine->ip)
        return fail("{} already has address {}", describe_owner(*mine), mine->ip.to_string());
      mine->names = std::move(names);
      mine->pid = owner_pid;
      mine->start_time = owner_start_time;
      out = *mine;
      return true;
    }
    Ipv4 ip = SLW_TRY(choose_address(network_, table, requested));
    out = Lease{ip, owner, std::move(names), owner_pid, owner_start_time};
    table.leases.push_back(out);
    table.last = ip;
    return true;
  }));
  return out;
}

Status Ipam::release(const std::string& owner) {
  return modify("release address", [&](LeaseTable& table) -> Result<bool> {
    auto n = std::erase_if(table.leases, [&](const Lease& l) { return l.owner == owner; });
    return n > 0;
  });
}

Result<std::vector<Lease>> Ipam::leases() const {
  LeaseTable table = SLW_TRY_CTX(load(), "list leases of network {}", network_.name);
  return std::move(table.leases);
}

Result<std::vector<Lease>> Ipam::reclaim(const std::function<bool(const Lease&)>& is_alive) {
  std::vector<Lease> dropped;
  SLW_TRY(modify("reclaim addresses", [&](LeaseTable& table) -> Result<bool> {
    auto dead = std::stable_partition(table.leases.begin(), table.leases.end(), is_alive);
    dropped.assign(std::make_move_iterator(dead), std::make_move_iterator(table.leases.end()));
    table.leases.erase(dead, table.leases.end());
    return !dropped.empty();
  }));
  return dropped;
}

Status Ipam::update_names(const std::string& owner, std::vector<std::string> names) {
  return modify("update names", [&](LeaseTable& table) -> Result<bool> {
    for (Lease& l : table.leases) {
      if (l.owner != owner) continue;
      l.names = std::move(names);
      return true;
    }
    return fail("container {} has no address on network {}", owner, network_.name);
  });
}

Status Ipam::update_process(const std::string& owner, pid_t pid, uint64_t start_time) {
  return modify("update lease owner", [&](LeaseTable& table) -> Result<bool> {
    for (Lease& l : table.leases) {
      if (l.owner != owner) continue;
      l.pid = pid;
      l.start_time = start_time;
      return true;
    }
    return fail("container {} has no address on network {}", owner, network_.name);
  });
}

}  // namespace slipway::netns
