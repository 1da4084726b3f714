#include "engine/dns_service.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "base/ascii.h"
#include "base/file_lock.h"
#include "base/fs.h"
#include "base/log.h"
#include "netns/dns_server.h"
#include "netns/dns_upstream.h"
#include "netns/network_store.h"

namespace slipway::engine {
namespace {

// The files of a DNS process whose network was removed: they go with it (it holds the lock).
void remove_own_files(const std::string& root, const std::string& name, FileLock& lock) {
  ::unlink(netns::dns_log_file(root, name).c_str());
  (void)lock.remove();
}

// The lease names, indexed again only when the lease file changed (checked on each query). The
// file is replaced by rename on every change, so its inode tells changes apart that the coarse
// mtime clock (a few ms) would not: a service restarted within one tick kept its old address here.
class LeaseCache {
 public:
  LeaseCache(std::string root, netns::Network network)
      : ipam_(root, network), path_(netns::leases_file(root, network.name)), domain_(network.domain) {}

  // The current index, shared with the queries still using the one before.
  std::shared_ptr<const LeaseNames> get() {
    std::lock_guard lock(mu_);
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) st = {};
    bool changed = st.st_ino != ino_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
                   st.st_mtim.tv_nsec != mtime_.tv_nsec || st.st_size != size_;
    if (!names_ || changed) {
      if (auto l = ipam_.leases()) {
        names_ = std::make_shared<const LeaseNames>(*l, domain_);
        ino_ = st.st_ino;
        mtime_ = st.st_mtim;
        size_ = st.st_size;
      }
    }
    static const auto kNone = std::make_shared<const LeaseNames>();
    return names_ ? names_ : kNone;
  }

 private:
  netns::Ipam ipam_;
  std::string path_;
  std::string domain_;
  std::mutex mu_;
  ino_t ino_ = 0;
  timespec mtime_{};
  off_t size_ = 0;
  std::shared_ptr<const LeaseNames> names_;
};

}  // namespace

LeaseNames::LeaseNames(const std::vector<netns::Lease>& leases, std::string_view domain)
    : suffix_(ascii_lower(domain)), leases_(leases.size()) {
  suffix_.insert(suffix_.begin(), '.');
  for (const auto& l : leases) {
    std::vector<std::string> seen;  // a lease answers once for a name, however often it has it
    for (const auto& n : l.names) {
      std::string key = ascii_lower(n);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      by_name_[key].push_back(l.ip);
      seen.push_back(std::move(key));
    }
    if (!l.names.empty()) by_address_.emplace(l.ip.value, l.names.front());
  }
}

std::optional<std::vector<netns::Ipv4>> LeaseNames::resolve(std::string_view fqdn) const {
  std::string name = ascii_lower(fqdn);
  while (!name.empty() && name.back() == '.') name.pop_back();
  if (name.size() > suffix_.size() && name.ends_with(suffix_)) name.resize(name.size() - suffix_.size());
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> LeaseNames::reverse(netns::Ipv4 ip) const {
  auto it = by_address_.find(ip.value);
  if (it == by_address_.end()) return std::nullopt;
  return it->second;
}

Status ensure_dns_service(const std::string& root, const netns::Network& network) {
  std::string lock_path = netns::dns_lock_file(root, network.name);
  {
    // Taken without waiting: a held lock means a DNS process serves the network.
    auto probe = SLW_TRY(FileLock::try_acquire(lock_path, FileLock::Mode::kExclusive, true));
    if (!probe) return {};  // already served
  }
  std::string log_path = netns::dns_log_file(root, network.name);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) return fail_errno("create DNS ready pipe");
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork DNS process");
  if (pid == 0) {
    // Detach twice so the DNS process belongs to no `slipway run` and outlives it.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null_fd = ::open("/dev/null", O_RDWR);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    ::dup2(ready[1], 3);  // dup2 clears close-on-exec on the copy
    std::string root_arg = root, name_arg = network.name;
    const char* argv[] = {"slipway", "--root", root_arg.c_str(), "network", "dns-serve",
                          name_arg.c_str(), "--ready-fd", "3", nullptr};
    ::execv("/proc/self/exe", const_cast<char* const*>(argv));
    ::_exit(127);
  }
  ready_write.reset();
  ::waitpid(pid, nullptr, 0);
  pollfd p{ready_read.get(), POLLIN, 0};
  if (::poll(&p, 1, 3000) <= 0)
    return fail("DNS of network {}: did not start within 3 s", network.name);
  char byte;
  if (::read(ready_read.get(), &byte, 1) != 1) {
    // It exited without serving: another DNS process won the race, or it failed (its log says).
    auto again = SLW_TRY(FileLock::try_acquire(lock_path, FileLock::Mode::kExclusive, true));
    if (!again) return {};
    return fail("DNS of network {}: could not listen on {}:53 (see {})", network.name,
                network.gateway.to_string(), log_path);
  }
  return {};
}

Result<int> serve_network_dns(const std::string& root, const std::string& network_name, int ready_fd) {
  auto lock = SLW_TRY(FileLock::try_acquire(netns::dns_lock_file(root, network_name),
                                            FileLock::Mode::kExclusive, true));
  if (!lock) return 0;  // another process serves this network
  netns::NetworkStore networks(root);
  auto found = networks.get(network_name);
  if (!found) {
    // Removed while this process started: its lock and log must not outlive the network.
    if (found.error().code() == ENOENT) remove_own_files(root, network_name, *lock);
    return std::unexpected(std::move(found).error());
  }
  netns::Network network = std::move(*found);
  auto cache = std::make_shared<LeaseCache>(root, network);

  netns::DnsServerConfig config;
  config.listen_address = network.gateway;
  config.listen_port = 53;
  config.clients = network.subnet;
  config.zone.domain = network.domain;
  config.zone.resolve = [cache](std::string_view fqdn) { return cache->get()->resolve(fqdn); };
  config.zone.reverse = [cache](netns::Ipv4 ip) { return cache->get()->reverse(ip); };
  // SLIPWAY_DNS_UPSTREAMS ("IPV4[:PORT],...") replaces the host's resolvers: tests point it at a
  // fake on loopback so that no query leaves the machine.
  if (const char* env = std::getenv("SLIPWAY_DNS_UPSTREAMS")) {
    std::string_view list = env;
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view item = list.substr(0, comma);
      netns::DnsUpstream up;
      auto colon = item.find(':');
      up.address = std::string(item.substr(0, colon));
      if (colon != std::string_view::npos) up.port = static_cast<uint16_t>(std::atoi(std::string(item.substr(colon + 1)).c_str()));
      config.upstreams.push_back(up);
      list = comma == std::string_view::npos ? "" : list.substr(comma + 1);
    }
  } else if (auto resolv = fs::read_file("/etc/resolv.conf")) {
    config.upstreams = netns::parse_resolv_conf_nameservers(*resolv);
  }

  auto server = SLW_TRY_CTX(netns::DnsServer::start(std::move(config)), "DNS of network {}", network_name);
  if (ready_fd >= 0) {
    (void)!::write(ready_fd, "r", 1);
    ::close(ready_fd);
  }
  auto idle_since = std::chrono::steady_clock::now();
  bool removed = false;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto now = networks.get(network_name);
    if (!now && now.error().code() == ENOENT) {
      removed = true;
      break;
    }
    // Removed and made again with another subnet: the next container starts a DNS process for it.
    if (now && *now != network) break;
    if (!cache->get()->empty()) {
      idle_since = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - idle_since > kDnsIdleExit) {
      break;
    }
  }
  server->stop();
  if (removed) remove_own_files(root, network_name, *lock);
  return 0;
}

}  // namespace slipway::engine
