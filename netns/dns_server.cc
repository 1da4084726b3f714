#include "netns/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <system_error>
#include <unordered_map>

#include "base/log.h"
#include "netns/dns_message.h"
#include "netns/dns_relay.h"
#include "netns/netns_fd.h"
#include "netns/socket_maker.h"

namespace slipway::netns {

namespace {

using Clock = std::chrono::steady_clock;

// epoll data: (id << 3) | tag; ids are never reused, so stale events find nothing.
enum Tag : uint64_t {
  kWakeTag = 0,
  kUdpTag = 1,
  kTcpListenTag = 2,
  kTcpClientTag = 3,
  kUpstreamTag = 4
};
constexpr uint64_t pack(uint64_t id, Tag tag) {
  return (id << 3) | tag;
}

constexpr size_t kMaxTcpBuffered = 2 * (2 + dns::kMaxMessageSize);

// Two-byte length prefix of DNS over TCP (RFC 1035 4.2.2).
void append_framed(std::vector<uint8_t>& out, std::span<const uint8_t> message) {
  out.push_back(static_cast<uint8_t>(message.size() >> 8));
  out.push_back(static_cast<uint8_t>(message.size()));
  out.insert(out.end(), message.begin(), message.end());
}

Status bind_to(int fd, Ipv4 address, uint16_t port, const std::string& label) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(address.value);
  sa.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return {};
  int err = errno;
  if (err == EADDRINUSE)
    return std::unexpected(Error(err, fmt::format("{}: address already in use", label)));
  if (err == EADDRNOTAVAIL)
    return std::unexpected(
        Error(err, fmt::format("{}: address not assigned to any interface", label)));
  return fail_errno(fmt::format("{}: bind", label), err);
}

uint16_t bound_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

}  // namespace

class DnsServer::Loop {
 public:
  Loop(DnsServerConfig config, Counters& counters)
      : config_(std::move(config)), counters_(counters) {}

  Status init(UniqueFd udp, UniqueFd tcp, int wake_fd) {
    udp_ = std::move(udp);
    tcp_listener_ = std::move(tcp);
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return fail_errno("epoll_create1");
    epoll_ = UniqueFd(ep);
    SLW_TRY(watch(wake_fd, EPOLLIN, pack(0, kWakeTag)));
    SLW_TRY(watch(udp_.get(), EPOLLIN, pack(0, kUdpTag)));
    SLW_TRY(watch(tcp_listener_.get(), EPOLLIN, pack(0, kTcpListenTag)));
    relay_.emplace(epoll_.get(), kUpstreamTag, config_.upstreams, config_.upstream_timeout,
                   config_.max_pending,
                   [this](const DnsRelay::Client& client, std::span<const uint8_t> response,
                          DnsRelay::Outcome outcome) { on_relayed(client, response, outcome); });
    return {};
  }

  void run(const std::atomic<bool>& stopping);

 private:
  struct TcpClient {
    UniqueFd fd;
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    bool want_write = false;
    bool eof = false;
    size_t pending = 0;  // forwarded queries not answered yet
    Clock::time_point last_active;
  };

  Status watch(int fd, uint32_t events, uint64_t data) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return fail_errno("epoll_ctl");
    return {};
  }

  int next_timeout_ms();
  void expire_idle_tcp(Clock::time_point now);
  void on_udp();
  void on_tcp_accept();
  bool client_allowed(const sockaddr* addr) const;
  void on_tcp_client(uint64_t id, uint32_t events);
  void flush_tcp(uint64_t id, TcpClient& c);
  void close_tcp_if_done(uint64_t id, TcpClient& c);
  void handle_query(std::span<const uint8_t> query, const DnsRelay::Client& client);
  void on_relayed(const DnsRelay::Client& client, std::span<const uint8_t> response,
                  DnsRelay::Outcome outcome);
  void reply(const DnsRelay::Client& client, std::span<const uint8_t> response);
  void reply_tcp(uint64_t client_id, std::span<const uint8_t> response);

  DnsServerConfig config_;
  Counters& counters_;
  UniqueFd epoll_;
  UniqueFd udp_;
  UniqueFd tcp_listener_;
  std::optional<DnsRelay> relay_;
  std::unordered_map<uint64_t, TcpClient> tcp_clients_;
  uint64_t next_id_ = 1;
};

void DnsServer::Loop::run(const std::atomic<bool>& stopping) {
  ::pthread_setname_np(::pthread_self(), "slw-dns");
  // Replies go out with MSG_NOSIGNAL; blocking SIGPIPE on this thread covers anything else.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  while (!stopping.load(std::memory_order_relaxed)) {
    int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, next_timeout_ms());
    if (n < 0) {
      if (errno == EINTR) continue;
      log::error("dns server: epoll_wait: {}; serving stopped", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t id = events[i].data.u64 >> 3;
      switch (static_cast<Tag>(events[i].data.u64 & 7)) {
        case kWakeTag:
          break;
        case kUdpTag:
          on_udp();
          break;
        case kTcpListenTag:
          on_tcp_accept();
          break;
        case kTcpClientTag:
          on_tcp_client(id, events[i].events);
          break;
        case kUpstreamTag:
          relay_->on_event(id, events[i].events);
          break;
      }
    }
    auto now = Clock::now();
    relay_->expire(now);
    expire_idle_tcp(now);
  }
}

int DnsServer::Loop::next_timeout_ms() {
  auto now = Clock::now();
  std::optional<Clock::time_point> next = relay_->next_deadline();
  for (auto& [id, c] : tcp_clients_) {
    auto idle_end = c.last_active + config_.tcp_idle_timeout;
    if (!next || idle_end < *next) next = idle_end;
  }
  if (!next) return -1;
  if (*next <= now) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*next - now).count());
}

void DnsServer::Loop::expire_idle_tcp(Clock::time_point now) {
  for (auto it = tcp_clients_.begin(); it != tcp_clients_.end();) {
    if (it->second.pending == 0 && it->second.last_active + config_.tcp_idle_timeout <= now)
      it = tcp_clients_.erase(it);
    else
      ++it;
  }
}

bool DnsServer::Loop::client_allowed(const sockaddr* addr) const {
  if (!config_.clients) return true;
  if (addr->sa_family != AF_INET) return false;
  const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
  return config_.clients->contains(Ipv4{ntohl(in->sin_addr.s_addr)});
}

void DnsServer::Loop::on_udp() {
  std::vector<uint8_t> buf(dns::kMaxMessageSize);
  // Bounded, so a flood on UDP cannot starve TCP clients and upstream answers.
  for (int i = 0; i < 64; ++i) {
    DnsRelay::Client client;
    client.addr_len = sizeof client.addr;
    ssize_t n = ::recvfrom(udp_.get(), buf.data(), buf.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&client.addr), &client.addr_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or an ICMP error left by an earlier reply: nothing to serve
    }
    counters_.udp_queries.fetch_add(1, std::memory_order_relaxed);
    if (!client_allowed(reinterpret_cast<const sockaddr*>(&client.addr))) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    handle_query(std::span(buf.data(), static_cast<size_t>(n)), client);
  }
}

void DnsServer::Loop::handle_query(std::span<const uint8_t> query, const DnsRelay::Client& client) {
  DnsDecision d = answer_dns_query(query, config_.zone, client.tcp);
  switch (d.kind) {
    case DnsDecision::Kind::kDrop:
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    case DnsDecision::Kind::kAnswer:
      counters_.answered_locally.fetch_add(1, std::memory_order_relaxed);
      reply(client, d.answer);
      return;
    case DnsDecision::Kind::kForward:
      if (client.tcp) {
        if (auto it = tcp_clients_.find(client.tcp_connection); it != tcp_clients_.end())
          ++it->second.pending;
      }
      if (!relay_->forward(query, client))
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);  // a client retransmission
      return;
  }
}

void DnsServer::Loop::on_relayed(const DnsRelay::Client& client, std::span<const uint8_t> response,
                                 DnsRelay::Outcome outcome) {
  auto& counter =
      outcome == DnsRelay::Outcome::kRelayed ? counters_.forwarded : counters_.upstream_failed;
  counter.fetch_add(1, std::memory_order_relaxed);
  if (client.tcp) {
    auto it = tcp_clients_.find(client.tcp_connection);
    if (it == tcp_clients_.end()) return;  // the client left before its answer came
    if (it->second.pending > 0) --it->second.pending;
    if (response.empty()) {
      close_tcp_if_done(it->first, it->second);
      return;
    }
  }
  if (!response.empty()) reply(client, response);
}

void DnsServer::Loop::reply(const DnsRelay::Client& client, std::span<const uint8_t> response) {
  if (client.tcp) {
    reply_tcp(client.tcp_connection, response);
    return;
  }
  // A full socket buffer drops the answer, as the network would; the client retries.
  (void)::sendto(udp_.get(), response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&client.addr), client.addr_len);
}

void DnsServer::Loop::reply_tcp(uint64_t client_id, std::span<const uint8_t> response) {
  auto it = tcp_clients_.find(client_id);
  if (it == tcp_clients_.end()) return;  // the client left before its answer came
  append_framed(it->second.out, response);
  flush_tcp(client_id, it->second);
}

void DnsServer::Loop::on_tcp_accept() {
  for (int i = 0; i < 16; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(tcp_listener_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) log::warn("dns server: accept: {}", std::strerror(errno));
      return;
    }
    UniqueFd conn(fd);
    if (tcp_clients_.size() >= config_.max_tcp_clients) continue;  // closed at once
    if (!client_allowed(reinterpret_cast<const sockaddr*>(&peer))) continue;
    uint64_t id = next_id_++;
    if (!watch(fd, EPOLLIN, pack(id, kTcpClientTag))) continue;
    TcpClient& c = tcp_clients_[id];
    c.fd = std::move(conn);
    c.last_active = Clock::now();
  }
}

void DnsServer::Loop::on_tcp_client(uint64_t id, uint32_t events) {
  auto it = tcp_clients_.find(id);
  if (it == tcp_clients_.end()) return;
  TcpClient& c = it->second;
  c.last_active = Clock::now();
  // HUP on TCP means reset or fully closed: nothing can be written back any more.
  if (events & (EPOLLERR | EPOLLHUP)) {
    tcp_clients_.erase(it);
    return;
  }
  if (events & EPOLLOUT) flush_tcp(id, c);
  if (!tcp_clients_.contains(id)) return;
  if (events & EPOLLIN) {
    uint8_t buf[16384];
    ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      tcp_clients_.erase(id);
      return;
    }
    if (n == 0) {
      c.eof = true;
      // No more queries will come; stop level-triggered EOF wake-ups, keep writing answers.
      epoll_event ev{};
      ev.events = c.want_write ? uint32_t{EPOLLOUT} : 0u;
      ev.data.u64 = pack(id, kTcpClientTag);
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
    }
    if (n > 0) c.in.insert(c.in.end(), buf, buf + n);
    if (c.in.size() > kMaxTcpBuffered) {
      tcp_clients_.erase(id);
      return;
    }
    // Every whole query in the buffer; answers may go out of order (RFC 7766 allows it).
    size_t used = 0;
    while (c.in.size() - used >= 2) {
      size_t len = static_cast<size_t>(c.in[used] << 8 | c.in[used + 1]);
      if (c.in.size() - used < 2 + len) break;
      std::vector<uint8_t> query(c.in.begin() + static_cast<long>(used + 2),
                                 c.in.begin() + static_cast<long>(used + 2 + len));
      used += 2 + len;
      counters_.tcp_queries.fetch_add(1, std::memory_order_relaxed);
      DnsRelay::Client client;
      client.tcp = true;
      client.tcp_connection = id;
      handle_query(query, client);
      if (!tcp_clients_.contains(id)) return;  // write failure closed it
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<long>(used));
  }
  close_tcp_if_done(id, c);
}

void DnsServer::Loop::flush_tcp(uint64_t id, TcpClient& c) {
  while (!c.out.empty()) {
    ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      tcp_clients_.erase(id);
      return;
    }
    c.out.erase(c.out.begin(), c.out.begin() + n);
  }
  bool want_write = !c.out.empty();
  if (want_write != c.want_write) {
    c.want_write = want_write;
    epoll_event ev{};
    ev.events = (c.eof ? 0u : uint32_t{EPOLLIN}) | (want_write ? uint32_t{EPOLLOUT} : 0u);
    ev.data.u64 = pack(id, kTcpClientTag);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev);
  }
  close_tcp_if_done(id, c);
}

void DnsServer::Loop::close_tcp_if_done(uint64_t id, TcpClient& c) {
  if (c.eof && c.out.empty() && c.pending == 0) tcp_clients_.erase(id);
}

Result<std::unique_ptr<DnsServer>> DnsServer::start(DnsServerConfig config) {
  std::string label =
      fmt::format("dns server {}:{}", config.listen_address.to_string(), config.listen_port);
  std::string domain = dns_canonical_name(config.zone.domain);
  if (!domain.empty()) {
    DnsMessage probe;
    probe.questions.push_back({domain, dns::kTypeA, dns::kClassIN});
    if (!build_dns_message(probe))
      return fail("{}: invalid domain \"{}\"", label, config.zone.domain);
  }
  config.zone.domain = domain;

  std::vector<DnsUpstream> kept;
  for (const DnsUpstream& u : config.upstreams) {
    SocketAddress sa = SLW_TRY_CTX(to_socket_address(u), "{}", label);
    // Forwarding to ourselves would loop until every query timed out.
    if (sa.family() == AF_INET && u.port == config.listen_port &&
        ntohl(reinterpret_cast<const sockaddr_in*>(sa.get())->sin_addr.s_addr) ==
            config.listen_address.value)
      continue;
    kept.push_back(u);
  }
  config.upstreams = std::move(kept);

  bool here = config.listen_netns_fd < 0;
  if (!here) {
    UniqueFd current = SLW_TRY_CTX(current_netns(), "{}", label);
    here = SLW_TRY_CTX(same_netns(current.get(), config.listen_netns_fd), "{}", label);
  }
  auto make_socket = [&](int type) -> Result<UniqueFd> {
    type |= SOCK_NONBLOCK | SOCK_CLOEXEC;
    if (!here) return make_socket_in_netns(config.listen_netns_fd, AF_INET, type);
    int fd = ::socket(AF_INET, type, 0);
    if (fd < 0) return fail_errno("create socket");
    return UniqueFd(fd);
  };

  UniqueFd udp, tcp;
  uint16_t port = config.listen_port;
  // With port 0 the UDP port is the kernel's choice, and TCP may find it taken: try again.
  for (int attempt = 0;; ++attempt) {
    udp = SLW_TRY_CTX(make_socket(SOCK_DGRAM), "{}", label);
    SLW_TRY(bind_to(udp.get(), config.listen_address, config.listen_port, label + "/udp"));
    port = bound_port(udp.get());
    tcp = SLW_TRY_CTX(make_socket(SOCK_STREAM), "{}", label);
    int one = 1;
    (void)::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto bound = bind_to(tcp.get(), config.listen_address, port, label + "/tcp");
    if (bound) break;
    if (config.listen_port != 0 || bound.error().code() != EADDRINUSE || attempt == 8)
      return std::unexpected(std::move(bound).error());
  }
  if (::listen(tcp.get(), 64) < 0) return fail_errno(fmt::format("{}/tcp: listen", label));

  std::unique_ptr<DnsServer> server(new DnsServer());
  server->port_ = port;
  int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return fail_errno(fmt::format("{}: eventfd", label));
  server->wake_ = UniqueFd(wake);
  server->loop_ = std::make_unique<Loop>(std::move(config), server->counters_);
  SLW_TRY_CTX(server->loop_->init(std::move(udp), std::move(tcp), wake), "{}", label);
  try {
    server->thread_ = std::thread([s = server.get()] { s->loop_->run(s->stopping_); });
  } catch (const std::system_error& e) {
    return fail_errno(fmt::format("{}: start thread", label), e.code().value());
  }
  return server;
}

DnsServer::~DnsServer() {
  stop();
}

void DnsServer::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  loop_.reset();
}

DnsServerStats DnsServer::stats() const {
  DnsServerStats s;
  s.udp_queries = counters_.udp_queries.load(std::memory_order_relaxed);
  s.tcp_queries = counters_.tcp_queries.load(std::memory_order_relaxed);
  s.answered_locally = counters_.answered_locally.load(std::memory_order_relaxed);
  s.forwarded = counters_.forwarded.load(std::memory_order_relaxed);
  s.upstream_failed = counters_.upstream_failed.load(std::memory_order_relaxed);
  s.dropped = counters_.dropped.load(std::memory_order_relaxed);
  return s;
}

}  // namespace slipway::netns
