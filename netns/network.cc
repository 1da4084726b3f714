#include "netns/network.h"

#include <filesystem>

#include <algorithm>
#include <array>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "netns/ifname.h"

namespace slipway::netns {

namespace {

constexpr size_t kMaxNetworkNameLength = 64;
constexpr std::string_view kBridgePrefix = "slw-";
constexpr std::string_view kDefaultRoot = "/var/lib/slipway";
constexpr std::string_view kLeasesSuffix = ".leases";

struct ReservedRange {
  std::string_view cidr;
  std::string_view why;
};
constexpr std::array<ReservedRange, 4> kReservedRanges{{
    {"0.0.0.0/8", "\"this network\""},
    {"127.0.0.0/8", "loopback"},
    {"169.254.0.0/16", "link-local"},
    {"224.0.0.0/3", "multicast and reserved"},
}};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

std::string default_domain(std::string_view name) {
  std::string d(name);
  for (char& c : d) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '_') c = '-';
  }
  return d;
}

// Docker's default address pools, without 172.17 (docker0) and 172.18 (slipway's default).
std::vector<Cidr> candidate_subnets() {
  std::vector<Cidr> out;
  for (uint32_t b = 19; b <= 31; ++b) out.push_back(Cidr{Ipv4{(172u << 24) | (b << 16)}, 16});
  for (uint32_t c = 0; c < 256; c += 16)
    out.push_back(Cidr{Ipv4{(192u << 24) | (168u << 16) | (c << 8)}, 20});
  return out;
}

}  // namespace

Status validate_network_name(std::string_view name) {
  if (name.empty()) return fail("invalid network name \"\": must not be empty");
  if (name.size() > kMaxNetworkNameLength)
    return fail("invalid network name \"{}\": longer than {} characters", name,
                kMaxNetworkNameLength);
  if (!std::isalnum(static_cast<unsigned char>(name.front())) ||
      !std::all_of(name.begin(), name.end(), is_name_char))
    return fail("invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  if (name == "bridge" || name == "host" || name == "none")
    return fail("invalid network name \"{}\": reserved for the network mode of that name", name);
  if (name.ends_with(kLeasesSuffix))
    return fail("invalid network name \"{}\": must not end in \"{}\"", name, kLeasesSuffix);
  return {};
}

Status validate_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253)
    return fail("invalid domain \"{}\": must be 1-253 characters", domain);
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63)
      return fail("invalid domain \"{}\": each dot-separated label must be 1-63 characters",
                  domain);
    if (label.front() == '-' || label.back() == '-')
      return fail("invalid domain \"{}\": a label must not start or end with '-'", domain);
    for (char c : label) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
        return fail("invalid domain \"{}\": only lowercase letters, digits, '-' and '.' allowed",
                    domain);
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return {};
}

std::string bridge_name_for(std::string_view network_name) {
  std::string name = std::string(kBridgePrefix) + std::string(network_name);
  if (name.size() <= kMaxIfnameLength && is_valid_ifname(name)) return name;
  return std::string(kBridgePrefix) +
         hash_hex(network_name, kMaxIfnameLength - kBridgePrefix.size());
}

std::string bridge_name_for(std::string_view network_name, std::string_view root) {
  std::error_code ec;
  std::string canonical = std::filesystem::weakly_canonical(std::string(root), ec).string();
  if (ec || canonical.empty()) canonical = root;
  if (canonical == kDefaultRoot) return bridge_name_for(network_name);
  // FNV-1a's top digits barely change with the last characters (/tmp/root-a, /tmp/root-b): mix
  // all 64 bits first (MurmurHash3's finaliser).
  uint64_t h = std::stoull(hash_hex(canonical, 16), nullptr, 16);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  std::string prefix = fmt::format("s{:04x}-", h & 0xffff);
  std::string name = prefix + std::string(network_name);
  if (name.size() <= kMaxIfnameLength && is_valid_ifname(name)) return name;
  return prefix + hash_hex(network_name, kMaxIfnameLength - prefix.size());
}

Status check_subnet_available(const Cidr& subnet, const std::string& own_bridge,
                              const std::vector<Ipv4Route>& host_routes,
                              const std::vector<Network>& networks) {
  for (const ReservedRange& r : kReservedRanges) {
    Cidr range = *parse_cidr(r.cidr);
    if (subnet.overlaps(range))
      return fail("subnet {} overlaps the {} range {}", subnet.to_string(), r.why, r.cidr);
  }
  for (const Network& n : networks) {
    if (subnet.overlaps(n.subnet))
      return fail("subnet {} overlaps network {} ({})", subnet.to_string(), n.name,
                  n.subnet.to_string());
  }
  for (const Ipv4Route& r : host_routes) {
    if (r.destination.prefix == 0) continue;  // the default route overlaps everything
    if (!own_bridge.empty() && r.ifname == own_bridge) continue;
    if (subnet.overlaps(r.destination))
      return fail("subnet {} overlaps the host route {}{}", subnet.to_string(),
                  r.destination.to_string(), r.ifname.empty() ? "" : " dev " + r.ifname);
  }
  return {};
}

Result<Cidr> choose_subnet(const std::vector<Ipv4Route>& host_routes,
                           const std::vector<Network>& networks,
                           const std::vector<Cidr>& reserved) {
  for (const Cidr& c : candidate_subnets()) {
    if (std::any_of(reserved.begin(), reserved.end(), [&](const Cidr& r) { return r.overlaps(c); }))
      continue;
    if (check_subnet_available(c, "", host_routes, networks)) return c;
  }
  return fail(
      "no free subnet left in 172.19-31.0.0/16 or 192.168.0.0/16 (all overlap host routes or "
      "networks); give one with --subnet");
}

Result<Network> plan_network(const std::string& name, const NetworkOptions& options,
                             const std::vector<Ipv4Route>& host_routes,
                             const std::vector<Network>& networks,
                             const std::vector<Cidr>& reserved_subnets) {
  SLW_TRY(validate_network_name(name));
  for (const Network& n : networks)
    if (n.name == name) return fail("network {} already exists", name);

  Network net;
  net.name = name;
  net.bridge = options.bridge.value_or(bridge_name_for(name));
  if (!is_valid_ifname(net.bridge))
    return fail("network {}: invalid bridge name \"{}\"", name, net.bridge);
  for (const Network& n : networks)
    if (n.bridge == net.bridge)
      return fail("network {}: bridge {} is already used by network {}", name, net.bridge, n.name);

  net.mtu = options.mtu.value_or(kDefaultMtu);
  net.internal = options.internal;
  if (net.mtu < 68 || net.mtu > 65535)
    return fail("network {}: invalid mtu {} (68-65535)", name, net.mtu);

  net.domain = options.domain.value_or(default_domain(name));
  if (auto st = validate_domain(net.domain); !st) {
    if (options.domain)
      return std::unexpected(std::move(st).error().context(fmt::format("network {}", name)));
    return fail("network {}: its name is not a valid DNS domain; give one with --domain", name);
  }

  if (options.subnet) {
    net.subnet = *options.subnet;
    if (net.subnet.prefix < 8 || net.subnet.prefix > 30)
      return fail("network {}: subnet {} must have a prefix length of 8-30", name,
                  net.subnet.to_string());
    SLW_TRY_CTX(check_subnet_available(net.subnet, net.bridge, host_routes, networks), "network {}",
                name);
  } else {
    net.subnet =
        SLW_TRY_CTX(choose_subnet(host_routes, networks, reserved_subnets), "network {}", name);
  }

  net.gateway = options.gateway.value_or(net.subnet.host(1));
  if (!net.subnet.contains(net.gateway))
    return fail("network {}: gateway {} is not in subnet {}", name, net.gateway.to_string(),
                net.subnet.to_string());
  if (net.gateway == net.subnet.network || net.gateway == net.subnet.broadcast())
    return fail(
        "network {}: gateway {} is the {} address of subnet {}", name, net.gateway.to_string(),
        net.gateway == net.subnet.network ? "network" : "broadcast", net.subnet.to_string());
  return net;
}

std::string network_to_json(const Network& n) {
  nlohmann::ordered_json j{{"name", n.name},
                           {"subnet", n.subnet.to_string()},
                           {"gateway", n.gateway.to_string()},
                           {"domain", n.domain},
                           {"bridge", n.bridge},
                           {"mtu", n.mtu}};
  if (n.internal) j["internal"] = true;
  return j.dump(2) + "\n";
}

Result<Network> network_from_json(std::string_view text, std::string_view what) {
  Network n;
  std::string subnet, gateway;
  try {
    auto j = nlohmann::json::parse(text);
    n.name = j.at("name").get<std::string>();
    subnet = j.at("subnet").get<std::string>();
    gateway = j.at("gateway").get<std::string>();
    n.domain = j.at("domain").get<std::string>();
    n.bridge = j.at("bridge").get<std::string>();
    n.mtu = j.value("mtu", kDefaultMtu);
    n.internal = j.value("internal", false);
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: {}", what, e.what());
  }
  n.subnet = SLW_TRY_CTX(parse_cidr(subnet), "{}", what);
  n.gateway = SLW_TRY_CTX(parse_ipv4(gateway), "{}", what);
  if (!n.subnet.contains(n.gateway))
    return fail("{}: gateway {} is not in subnet {}", what, gateway, subnet);
  if (!is_valid_ifname(n.bridge)) return fail("{}: invalid bridge name \"{}\"", what, n.bridge);
  return n;
}

std::string networks_dir(std::string_view root) {
  return fs::join(root, "networks");
}

std::string network_file(std::string_view root, std::string_view name) {
  return fs::join(networks_dir(root), fmt::format("{}.json", name));
}

std::string leases_file(std::string_view root, std::string_view name) {
  return fs::join(networks_dir(root), fmt::format("{}.leases.json", name));
}

std::string leases_lock_file(std::string_view root, std::string_view name) {
  return fs::join(networks_dir(root), fmt::format("{}.leases.lock", name));
}

std::string dns_lock_file(std::string_view root, std::string_view name) {
  return fs::join(networks_dir(root), fmt::format("{}.dns.lock", name));
}

std::string dns_log_file(std::string_view root, std::string_view name) {
  return fs::join(networks_dir(root), fmt::format("{}.dns.log", name));
}

std::string networks_lock_file(std::string_view root) {
  return fs::join(networks_dir(root), ".lock");
}

}  // namespace slipway::netns
