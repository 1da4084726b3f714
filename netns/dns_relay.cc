#include "netns/dns_relay.h"

#include <sys/epoll.h>

#include <cstring>

#include "base/log.h"
#include "netns/dns_message.h"
#include "netns/dns_responder.h"

namespace slipway::netns {

namespace {

// A SERVFAIL for `query`, or nothing when the query cannot even be parsed.
std::optional<std::vector<uint8_t>> servfail_for(std::span<const uint8_t> query, bool over_tcp) {
  auto parsed = parse_dns_message(query);
  if (!parsed) return std::nullopt;
  size_t limit = dns_response_limit(
      parsed->edns ? std::optional(parsed->edns->udp_size) : std::nullopt, over_tcp);
  auto wire = build_dns_message(make_dns_response(*parsed, dns::kServFail), limit);
  if (!wire) return std::nullopt;
  return std::move(*wire);
}

// True when `answer` answers `query`: the same question, compared the way names compare.
bool same_question(std::span<const uint8_t> query, std::span<const uint8_t> answer) {
  auto q = parse_dns_message(query);
  auto a = parse_dns_message(answer);
  if (!q || !a || q->questions.size() != 1 || a->questions.size() != 1) return false;
  const DnsQuestion &x = q->questions[0], &y = a->questions[0];
  return x.type == y.type && x.qclass == y.qclass &&
         dns_canonical_name(x.name) == dns_canonical_name(y.name);
}

}  // namespace

DnsRelay::DnsRelay(int epoll_fd, uint64_t epoll_tag, std::vector<DnsUpstream> upstreams,
                   std::chrono::milliseconds timeout, size_t max_pending, Deliver deliver)
    : epoll_fd_(epoll_fd),
      epoll_tag_(epoll_tag),
      timeout_(timeout),
      max_pending_(max_pending),
      deliver_(std::move(deliver)),
      random_(std::random_device{}()) {
  for (DnsUpstream& u : upstreams) {
    auto address = to_socket_address(u);
    if (!address) continue;  // DnsServer::start has refused these already
    upstreams_.push_back(std::move(u));
    addresses_.push_back(*address);
  }
}

DnsRelay::RetransmitKey DnsRelay::key_of(const Client& client, uint16_t id) {
  return {std::string(reinterpret_cast<const char*>(&client.addr), client.addr_len), id};
}

bool DnsRelay::forward(std::span<const uint8_t> query, const Client& client) {
  auto client_id = dns_wire_id(query);
  if (!client_id) return false;
  if (!client.tcp && udp_in_flight_.contains(key_of(client, *client_id))) return false;
  uint64_t id = next_id_++;
  Pending& p = pending_[id];
  p.client = client;
  p.client_id = *client_id;
  p.query.assign(query.begin(), query.end());
  if (!client.tcp) udp_in_flight_[key_of(client, *client_id)] = id;
  if (pending_.size() > max_pending_) {
    log::debug("dns server: {} queries already in flight upstream", max_pending_);
    finish_with_servfail(id);
    return true;
  }
  try_upstreams(id);
  return true;
}

void DnsRelay::try_upstreams(uint64_t id) {
  Pending& p = pending_.at(id);
  for (; p.upstream < upstreams_.size(); ++p.upstream) {
    auto opened = open_attempt(id, p);
    if (opened) return;
    log::debug("dns server: upstream {}: {}", upstreams_[p.upstream].to_string(),
               opened.error().message());
  }
  finish_with_servfail(id);
}

Status DnsRelay::open_attempt(uint64_t id, Pending& p) {
  const SocketAddress& to = addresses_[p.upstream];
  p.sock.reset();
  p.tcp_out.clear();
  p.tcp_in.clear();
  p.tcp_written = 0;
  p.connected = false;
  p.upstream_id = static_cast<uint16_t>(random_());
  set_dns_wire_id(p.query, p.upstream_id);
  int type = (p.client.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  int fd = ::socket(to.family(), type, 0);
  if (fd < 0) return fail_errno("socket");
  p.sock = UniqueFd(fd);
  // A connected UDP socket takes datagrams from the upstream's address only, and reports its
  // ICMP port-unreachable as ECONNREFUSED instead of leaving us to wait for the timeout.
  if (::connect(fd, to.get(), to.length) < 0 && errno != EINPROGRESS) return fail_errno("connect");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = (id << 3) | epoll_tag_;
  if (p.client.tcp) {
    p.tcp_out = {static_cast<uint8_t>(p.query.size() >> 8), static_cast<uint8_t>(p.query.size())};
    p.tcp_out.insert(p.tcp_out.end(), p.query.begin(), p.query.end());
    ev.events |= EPOLLOUT;
  } else if (::send(fd, p.query.data(), p.query.size(), MSG_NOSIGNAL) < 0) {
    return fail_errno("send");
  }
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) < 0) return fail_errno("epoll_ctl");
  p.attempt = next_id_++;
  deadlines_.push_back({Clock::now() + timeout_, id, p.attempt});
  return {};
}

void DnsRelay::next_upstream(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  it->second.sock.reset();
  ++it->second.upstream;
  try_upstreams(id);
}

void DnsRelay::expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.front().when <= now) {
    Deadline d = deadlines_.front();
    deadlines_.pop_front();
    auto it = pending_.find(d.pending);
    if (it == pending_.end() || it->second.attempt != d.attempt) continue;  // answered already
    log::debug("dns server: upstream {} did not answer within {} ms",
               upstreams_[it->second.upstream].to_string(), timeout_.count());
    next_upstream(d.pending);
  }
}

std::optional<DnsRelay::Clock::time_point> DnsRelay::next_deadline() const {
  // Entries of finished attempts linger until they expire; waking up for them is harmless.
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.front().when;
}

void DnsRelay::on_event(uint64_t id, uint32_t events) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second.client.tcp)
    on_tcp_progress(id, it->second, events);
  else
    on_udp_answer(id, it->second);
}

void DnsRelay::on_udp_answer(uint64_t id, Pending& p) {
  uint8_t buf[dns::kMaxMessageSize];
  for (;;) {
    ssize_t n = ::recv(p.sock.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      log::debug("dns server: upstream {}: {}", upstreams_[p.upstream].to_string(),
                 std::strerror(errno));
      next_upstream(id);
      return;
    }
    auto answer = std::span<const uint8_t>(buf, static_cast<size_t>(n));
    auto header = parse_dns_header(answer);
    if (!header || !header->response || header->id != p.upstream_id) continue;  // not ours
    on_answer(id, answer);
    return;
  }
}

void DnsRelay::on_tcp_progress(uint64_t id, Pending& p, uint32_t events) {
  int fd = p.sock.get();
  if (!p.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || !(events & EPOLLOUT)) {
      if (err == 0 && !(events & (EPOLLERR | EPOLLHUP))) return;
      log::debug("dns server: upstream {} over TCP: {}", upstreams_[p.upstream].to_string(),
                 std::strerror(err ? err : ECONNRESET));
      next_upstream(id);
      return;
    }
    p.connected = true;
  }
  while (p.tcp_written < p.tcp_out.size()) {
    ssize_t n = ::send(fd, p.tcp_out.data() + p.tcp_written, p.tcp_out.size() - p.tcp_written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      next_upstream(id);
      return;
    }
    p.tcp_written += static_cast<size_t>(n);
    if (p.tcp_written == p.tcp_out.size()) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = (id << 3) | epoll_tag_;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
  }
  uint8_t buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      next_upstream(id);  // closed or reset before a whole answer came
      return;
    }
    p.tcp_in.insert(p.tcp_in.end(), buf, buf + n);
    if (p.tcp_in.size() < 2) continue;
    size_t len = static_cast<size_t>(p.tcp_in[0] << 8 | p.tcp_in[1]);
    if (p.tcp_in.size() < 2 + len) continue;
    std::vector<uint8_t> answer(p.tcp_in.begin() + 2,
                                p.tcp_in.begin() + 2 + static_cast<ptrdiff_t>(len));
    auto header = parse_dns_header(answer);
    if (!header || !header->response || header->id != p.upstream_id) {
      next_upstream(id);
      return;
    }
    on_answer(id, answer);
    return;
  }
}

void DnsRelay::on_answer(uint64_t id, std::span<const uint8_t> answer) {
  Pending& p = pending_.at(id);
  if (!same_question(p.query, answer)) {
    // The right id for another question: not ours to relay; try elsewhere.
    log::debug("dns server: upstream {} answered another question",
               upstreams_[p.upstream].to_string());
    next_upstream(id);
    return;
  }
  std::vector<uint8_t> relayed(answer.begin(), answer.end());
  set_dns_wire_id(relayed, p.client_id);
  // The upstream sized its answer for the query we passed on, which carried the client's own
  // EDNS size; if it overshot anyway, cut it down rather than send what the client cannot take.
  if (!p.client.tcp) {
    auto q = parse_dns_message(p.query);
    size_t limit =
        dns_response_limit(q && q->edns ? std::optional(q->edns->udp_size) : std::nullopt, false);
    if (relayed.size() > limit) {
      auto parsed = parse_dns_message(relayed);
      auto rebuilt = parsed ? build_dns_message(*parsed, limit)
                            : Result<std::vector<uint8_t>>(std::unexpected(parsed.error()));
      if (!rebuilt) {
        finish_with_servfail(id);
        return;
      }
      relayed = std::move(*rebuilt);
    }
  }
  finish(id, relayed, Outcome::kRelayed);
}

void DnsRelay::finish_with_servfail(uint64_t id) {
  Pending& p = pending_.at(id);
  set_dns_wire_id(p.query, p.client_id);
  auto servfail = servfail_for(p.query, p.client.tcp);
  finish(id, servfail ? std::span<const uint8_t>(*servfail) : std::span<const uint8_t>(),
         Outcome::kServfail);
}

void DnsRelay::finish(uint64_t id, std::span<const uint8_t> response, Outcome outcome) {
  auto node = pending_.extract(id);
  Pending& p = node.mapped();
  if (!p.client.tcp) udp_in_flight_.erase(key_of(p.client, p.client_id));
  deliver_(p.client, response, outcome);
}

}  // namespace slipway::netns
