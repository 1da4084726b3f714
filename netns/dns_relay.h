// Queries the service DNS passes on to the upstream resolvers, while they are in flight. Each
// attempt gets a fresh socket (so a fresh source port) and a random id, both of which a forged
// answer would have to guess; on timeout, error or refusal the next resolver is tried; when none
// is left the client gets SERVFAIL. Queries that came over TCP go upstream over TCP.
// Runs on the DnsServer's thread and shares its epoll set; not thread-safe.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netns/dns_upstream.h"

namespace slipway::netns {

class DnsRelay {
 public:
  using Clock = std::chrono::steady_clock;

  // Whom to answer.
  struct Client {
    bool tcp = false;
    sockaddr_storage addr{};  // UDP: the sender
    socklen_t addr_len = 0;
    uint64_t tcp_connection = 0;  // TCP: the server's id for the connection
  };
  enum class Outcome { kRelayed, kServfail };
  using Deliver =
      std::function<void(const Client&, std::span<const uint8_t> response, Outcome outcome)>;

  // Sockets are registered in epoll_fd with data (id << 3) | epoll_tag; the owner passes such
  // events to on_event(id, events).
  DnsRelay(int epoll_fd, uint64_t epoll_tag, std::vector<DnsUpstream> upstreams,
           std::chrono::milliseconds timeout, size_t max_pending, Deliver deliver);

  // Starts forwarding `query` (wire format, the client's id). False when it was dropped as a
  // retransmission of a UDP query still in flight; otherwise deliver() is called exactly once,
  // possibly before this returns.
  bool forward(std::span<const uint8_t> query, const Client& client);
  void on_event(uint64_t id, uint32_t events);
  // Moves every attempt whose time is up to the next resolver.
  void expire(Clock::time_point now);
  std::optional<Clock::time_point> next_deadline() const;
  size_t in_flight() const { return pending_.size(); }

 private:
  struct Pending {
    Client client;
    uint16_t client_id = 0;
    std::vector<uint8_t> query;  // as sent upstream, with our id
    uint16_t upstream_id = 0;
    size_t upstream = 0;  // index of the resolver being tried
    uint64_t attempt = 0;
    UniqueFd sock;
    // TCP: the framed query still to write, and the framed answer read so far.
    std::vector<uint8_t> tcp_out;
    size_t tcp_written = 0;
    std::vector<uint8_t> tcp_in;
    bool connected = false;
  };
  struct Deadline {
    Clock::time_point when;
    uint64_t pending;
    uint64_t attempt;
  };
  using RetransmitKey = std::pair<std::string, uint16_t>;  // client address bytes, client id

  void try_upstreams(uint64_t id);
  Status open_attempt(uint64_t id, Pending& p);
  void next_upstream(uint64_t id);
  void on_udp_answer(uint64_t id, Pending& p);
  void on_tcp_progress(uint64_t id, Pending& p, uint32_t events);
  void on_answer(uint64_t id, std::span<const uint8_t> answer);
  void finish(uint64_t id, std::span<const uint8_t> response, Outcome outcome);
  void finish_with_servfail(uint64_t id);
  static RetransmitKey key_of(const Client& client, uint16_t id);

  int epoll_fd_;
  uint64_t epoll_tag_;
  std::vector<DnsUpstream> upstreams_;
  std::vector<SocketAddress> addresses_;
  std::chrono::milliseconds timeout_;
  size_t max_pending_;
  Deliver deliver_;
  std::mt19937 random_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<Deadline> deadlines_;  // in time order: every attempt gets the same timeout
  std::map<RetransmitKey, uint64_t> udp_in_flight_;
  uint64_t next_id_ = 1;
};

}  // namespace slipway::netns
