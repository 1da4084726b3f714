// The service DNS of one network: answers its container names on UDP and TCP (rules in
// dns_responder.h) and relays every other name to the host's resolvers. One thread, one epoll:
// UDP and TCP clients and the pending upstream queries (a fresh socket, random port and random
// id for each, the next resolver on timeout or error, SERVFAIL when none answers). A TCP query is
// forwarded over TCP, so large answers reach TCP clients whole.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netns/cidr.h"
#include "netns/dns_responder.h"
#include "netns/dns_upstream.h"

namespace slipway::netns {

struct DnsServerConfig {
  Ipv4 listen_address{0x7f000001};  // the network's gateway address in production
  uint16_t listen_port = 53;        // 0: any free port (the same one for UDP and TCP)
  int listen_netns_fd = -1;         // -1: the namespace of the thread calling start()
  DnsZone zone;
  std::vector<DnsUpstream> upstreams;                // tried in order
  std::chrono::milliseconds upstream_timeout{1500};  // per resolver tried
  size_t max_pending = 512;  // forwarded queries in flight; beyond: SERVFAIL at once
  size_t max_tcp_clients = 64;
  std::chrono::milliseconds tcp_idle_timeout{10000};
  // Only clients with a source address in here are served (a network's own subnet): the host
  // routes between bridges, so other networks' containers could otherwise ask. nullopt: anyone.
  std::optional<Cidr> clients;
};

struct DnsServerStats {
  uint64_t udp_queries = 0;
  uint64_t tcp_queries = 0;
  uint64_t answered_locally = 0;
  uint64_t forwarded = 0;        // relayed answers from an upstream
  uint64_t upstream_failed = 0;  // SERVFAIL because no upstream answered in time
  uint64_t dropped = 0;          // not a query at all, or a duplicate of one in flight
};

class DnsServer {
 public:
  // Binds UDP and TCP (errors such as "address already in use" are returned here) and starts
  // the thread. Upstream sockets are made in the calling thread's namespace.
  static Result<std::unique_ptr<DnsServer>> start(DnsServerConfig config);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  uint16_t port() const { return port_; }
  // Closes every socket and joins the thread. Idempotent.
  void stop();
  DnsServerStats stats() const;

 private:
  struct Counters {
    std::atomic<uint64_t> udp_queries{0};
    std::atomic<uint64_t> tcp_queries{0};
    std::atomic<uint64_t> answered_locally{0};
    std::atomic<uint64_t> forwarded{0};
    std::atomic<uint64_t> upstream_failed{0};
    std::atomic<uint64_t> dropped{0};
  };
  class Loop;

  DnsServer() = default;

  uint16_t port_ = 0;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  UniqueFd wake_;
  Counters counters_;
};

}  // namespace slipway::netns
