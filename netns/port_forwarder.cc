#include "netns/port_forwarder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <system_error>

#include "base/log.h"
#include "netns/netns_fd.h"
#include "netns/splice_pipe.h"

namespace slipway::netns {

namespace {

using Clock = std::chrono::steady_clock;

// epoll data: (id << 2) | tag. Ids are never reused, so an event for a connection that was
// closed earlier in the same epoll batch finds nothing instead of a stranger.
enum Tag : uint64_t { kWakeTag = 0, kListenerTag = 1, kClientTag = 2, kTargetTag = 3 };
constexpr uint64_t pack(uint64_t id, Tag tag) {
  return (id << 2) | tag;
}

constexpr int kSocketType = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
constexpr int kAcceptsPerTurn = 64;
// Bytes one connection may move per turn before others get theirs.
constexpr size_t kTurnBudget = 2 * PortForwarder::kPipeCapacity;
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Empty pipes kept from closed connections: a new connection needs two, and making them (pipe2,
// F_GETPIPE_SZ, and four closes later) is a good part of its setup cost.
constexpr size_t kSparePipes = 32;

sockaddr_in to_sockaddr(Ipv4 address, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(address.value);
  sa.sin_port = htons(port);
  return sa;
}

void set_nodelay(int fd) {
  // Forwarded request/response traffic must not wait for Nagle on either hop.
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

// One direction of a connection. Named, not anonymous: PortForwarder::Connection holds two.
namespace forwarding {

struct Flow {
  SplicePipe pipe;
  bool src_eof = false;   // the source sent FIN
  bool dst_shut = false;  // and it has been passed on as FIN to the destination
  // Edge-triggered readiness: set by the socket's epoll events, cleared when a call would block,
  // so a turn makes no system call that is bound to fail with EAGAIN.
  bool src_readable = true;
  bool dst_writable = true;
};

enum class Pump { kIdle, kBusy, kError };

// Moves src -> pipe -> dst until neither end can make progress or the budget is spent.
Pump pump(int src, int dst, Flow& flow, std::atomic<uint64_t>& moved_total, Error& error) {
  size_t moved = 0;
  for (;;) {
    bool progress = false;
    if (!flow.pipe.empty() && flow.dst_writable) {
      auto n = flow.pipe.drain_to(dst);
      if (!n) {
        error = std::move(n).error();
        return Pump::kError;
      }
      if (*n == 0) flow.dst_writable = false;
      if (*n > 0) {
        progress = true;
        moved += *n;
        moved_total.fetch_add(*n, std::memory_order_relaxed);
      }
    }
    if (!flow.src_eof && flow.src_readable && !flow.pipe.full()) {
      bool was_empty = flow.pipe.empty();
      auto n = flow.pipe.fill_from(src);
      if (!n) {
        error = std::move(n).error();
        return Pump::kError;
      }
      if (n->has_value()) {
        progress = true;
        if (**n == 0) flow.src_eof = true;
      } else if (was_empty) {
        // EAGAIN from a pipe with free slots: the socket itself has nothing. (With buffered
        // bytes the pipe's slots may be what ran out; the next turn asks again after a drain.)
        flow.src_readable = false;
      }
    }
    if (flow.src_eof && flow.pipe.empty() && !flow.dst_shut) {
      if (::shutdown(dst, SHUT_WR) < 0) {
        error = fail_errno("shutdown").error();
        return Pump::kError;
      }
      flow.dst_shut = true;
    }
    if (!progress) return Pump::kIdle;
    if (moved >= kTurnBudget) return Pump::kBusy;
  }
}

}  // namespace forwarding

using forwarding::Flow;
using forwarding::Pump;

struct PortForwarder::Listener {
  ForwardRule rule;
  std::string label;
  UniqueFd fd;
  uint16_t port = 0;
  sockaddr_in target{};
  SocketMaker* maker = nullptr;  // null: connect from the loop thread's own namespace
  bool paused = false;
  Clock::time_point resume_at{};
};

struct PortForwarder::Connection {
  const Listener* listener = nullptr;
  UniqueFd client;
  UniqueFd target;
  Flow to_target;
  Flow to_client;
  bool connected = false;
};

Result<std::unique_ptr<PortForwarder>> PortForwarder::create() {
  std::unique_ptr<PortForwarder> fwd(new PortForwarder());
  UniqueFd home = SLW_TRY_CTX(current_netns(), "port forwarder");
  fwd->home_ = SLW_TRY_CTX(fwd->key_of(home.get()), "port forwarder");
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return fail_errno("port forwarder: epoll_create1");
  fwd->epoll_ = UniqueFd(ep);
  int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) return fail_errno("port forwarder: eventfd");
  fwd->wake_ = UniqueFd(wake);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pack(0, kWakeTag);
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) < 0) return fail_errno("port forwarder: epoll_ctl");
  return fwd;
}

PortForwarder::~PortForwarder() {
  stop();
}

Result<PortForwarder::NetnsKey> PortForwarder::key_of(int netns_fd) const {
  if (netns_fd < 0) return home_;
  struct stat st;
  if (::fstat(netns_fd, &st) < 0)
    return fail_errno(fmt::format("network namespace fd {}", netns_fd));
  return NetnsKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

Result<SocketMaker*> PortForwarder::maker_for(int netns_fd) {
  NetnsKey key = SLW_TRY(key_of(netns_fd));
  if (key == home_) return nullptr;
  auto it = makers_.find(key);
  if (it == makers_.end()) {
    auto maker = SLW_TRY_CTX(SocketMaker::start(netns_fd, AF_INET, kSocketType),
                             "start socket maker for the target's network namespace");
    it = makers_.emplace(key, std::move(maker)).first;
  }
  return it->second.get();
}

Result<size_t> PortForwarder::add_rule(const ForwardRule& rule) {
  auto listener = std::make_unique<Listener>();
  listener->rule = rule;
  listener->label = rule.listen_label();
  const std::string& label = listener->label;
  if (started_) return fail("{}: rules must be added before the forwarder starts", label);
  if (rule.target_port == 0) return fail("{}: target port 0 out of range 1-65535", label);

  NetnsKey listen_key = SLW_TRY_CTX(key_of(rule.listen_netns_fd), "{}", label);
  if (listen_key == home_) {
    int fd = ::socket(AF_INET, kSocketType, 0);
    if (fd < 0) return fail_errno(fmt::format("{}: create socket", label));
    listener->fd = UniqueFd(fd);
  } else {
    listener->fd = SLW_TRY_CTX(make_socket_in_netns(rule.listen_netns_fd, AF_INET, kSocketType),
                               "{}: {}", label, rule.listen_place());
  }
  int fd = listener->fd.get();
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in local = to_sockaddr(rule.listen_address, rule.listen_port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    int err = errno;
    if (err == EADDRINUSE)
      return std::unexpected(
          Error(err, fmt::format("{}: address already in use {}", label, rule.listen_place())));
    return fail_errno(fmt::format("{}: bind {}", label, rule.listen_place()), err);
  }
  if (::listen(fd, SOMAXCONN) < 0) return fail_errno(fmt::format("{}: listen", label));
  socklen_t len = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) < 0)
    return fail_errno(fmt::format("{}: getsockname", label));
  listener->port = ntohs(local.sin_port);
  listener->rule.listen_port = listener->port;
  listener->label = listener->rule.listen_label();
  listener->target = to_sockaddr(rule.target_address, rule.target_port);
  listener->maker = SLW_TRY_CTX(maker_for(rule.connect_netns_fd), "{}", listener->label);

  size_t index = listeners_.size();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pack(index, kListenerTag);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
    return fail_errno(fmt::format("{}: epoll_ctl", listener->label));
  listeners_.push_back(std::move(listener));
  return index;
}

uint16_t PortForwarder::listen_port(size_t index) const {
  return index < listeners_.size() ? listeners_[index]->port : 0;
}

Status PortForwarder::start() {
  if (started_) return fail("port forwarder: already started");
  // Target sockets without a SocketMaker are made by the loop thread, which inherits this
  // thread's namespace; it must be the one -1 stood for in the rules.
  UniqueFd here = SLW_TRY_CTX(current_netns(), "port forwarder");
  if (SLW_TRY_CTX(key_of(here.get()), "port forwarder") != home_)
    return fail("port forwarder: start() called from another network namespace than create()");
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::system_error& e) {
    return fail_errno("port forwarder: start thread", e.code().value());
  }
  started_ = true;
  return {};
}

void PortForwarder::stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  connections_.clear();
  again_.clear();
  spare_pipes_.clear();
  active_ = 0;
  for (auto& listener : listeners_) listener->fd.reset();
}

ForwardStats PortForwarder::stats() const {
  ForwardStats s;
  s.accepted = accepted_.load(std::memory_order_relaxed);
  s.active = active_.load(std::memory_order_relaxed);
  s.connect_failed = connect_failed_.load(std::memory_order_relaxed);
  s.bytes_to_target = bytes_to_target_.load(std::memory_order_relaxed);
  s.bytes_to_client = bytes_to_client_.load(std::memory_order_relaxed);
  return s;
}

void PortForwarder::run() {
  ::pthread_setname_np(::pthread_self(), "slw-forward");  // for top -H, perf and the bench
  // A write to a socket whose peer is gone raises SIGPIPE for the writing thread; here it is
  // an ordinary error on one connection, so the signal stays blocked on this thread only.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  while (!stopping_.load(std::memory_order_relaxed)) {
    int timeout = resume_paused_listeners();
    if (!again_.empty()) timeout = 0;
    int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      log::error("port forwarder: epoll_wait: {}; forwarding stopped", std::strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t id = events[i].data.u64 >> 2;
      switch (static_cast<Tag>(events[i].data.u64 & 3)) {
        case kWakeTag:
          break;
        case kListenerTag:
          on_listener_ready(*listeners_[id]);
          break;
        case kClientTag:
          on_connection_event(id, false, events[i].events);
          break;
        case kTargetTag:
          on_connection_event(id, true, events[i].events);
          break;
      }
    }
    std::vector<uint64_t> again;
    again.swap(again_);
    for (uint64_t id : again) {
      auto it = connections_.find(id);
      if (it != connections_.end()) service(id, *it->second);
    }
  }
}

void PortForwarder::on_listener_ready(Listener& listener) {
  for (int i = 0; i < kAcceptsPerTurn; ++i) {
    int fd = ::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accepted_.fetch_add(1, std::memory_order_relaxed);
      open_connection(listener, UniqueFd(fd));
      continue;
    }
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EAGAIN) return;
    log::warn("{}: accept: {}; not accepting for {} ms", listener.label, std::strerror(err),
              kAcceptPause.count());
    // Out of fds or memory: the pending connection would wake us again at once, forever.
    pause_listener(listener);
    return;
  }
}

void PortForwarder::pause_listener(Listener& listener) {
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener.fd.get(), nullptr);
  listener.paused = true;
  listener.resume_at = Clock::now() + kAcceptPause;
}

int PortForwarder::resume_paused_listeners() {
  int timeout = -1;
  auto now = Clock::now();
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = *listeners_[i];
    if (!l.paused) continue;
    if (now >= l.resume_at) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = pack(i, kListenerTag);
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l.fd.get(), &ev) == 0) {
        l.paused = false;
        continue;
      }
      l.resume_at = now + kAcceptPause;
    }
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(l.resume_at - now).count();
    if (timeout < 0 || ms < timeout) timeout = static_cast<int>(ms);
  }
  return timeout;
}

Result<UniqueFd> PortForwarder::make_target_socket(const Listener& listener) {
  if (listener.maker) return listener.maker->take();
  int fd = ::socket(AF_INET, kSocketType, 0);
  if (fd < 0) return fail_errno("create socket");
  return UniqueFd(fd);
}

void PortForwarder::open_connection(Listener& listener, UniqueFd client) {
  auto conn = std::make_unique<Connection>();
  conn->listener = &listener;
  conn->client = std::move(client);
  auto target = make_target_socket(listener);
  auto to_target = take_pipe();
  auto to_client = take_pipe();
  const Error* problem = !target      ? &target.error()
                         : !to_target ? &to_target.error()
                         : !to_client ? &to_client.error()
                                      : nullptr;
  if (problem) {
    log::warn("{}: new connection dropped: {}", listener.label, problem->message());
    connect_failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  conn->target = std::move(*target);
  conn->to_target.pipe = std::move(*to_target);
  conn->to_client.pipe = std::move(*to_client);
  set_nodelay(conn->client.get());
  set_nodelay(conn->target.get());

  if (::connect(conn->target.get(), reinterpret_cast<const sockaddr*>(&listener.target),
                sizeof listener.target) == 0) {
    conn->connected = true;
  } else if (errno != EINPROGRESS) {
    log::debug("{}: connect to {}: {}", listener.label, listener.rule.to_string(),
               std::strerror(errno));
    connect_failed_.fetch_add(1, std::memory_order_relaxed);
    return;
  } else {
    // A handshake over loopback or a veth usually completes inside connect(); finding that out
    // now saves a trip through epoll before the client's first bytes move.
    pollfd p{conn->target.get(), POLLOUT, 0};
    conn->connected = ::poll(&p, 1, 0) == 1 && p.revents == POLLOUT;
  }

  uint64_t id = next_id_++;
  // Edge-triggered with both directions armed once: no epoll_ctl calls on the data path.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.u64 = pack(id, kClientTag);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->client.get(), &ev) < 0) {
    log::warn("{}: new connection dropped: epoll_ctl: {}", listener.label, std::strerror(errno));
    return;
  }
  ev.data.u64 = pack(id, kTargetTag);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->target.get(), &ev) < 0) {
    log::warn("{}: new connection dropped: epoll_ctl: {}", listener.label, std::strerror(errno));
    return;
  }
  Connection& c = *conn;
  connections_.emplace(id, std::move(conn));
  active_.fetch_add(1, std::memory_order_relaxed);
  if (c.connected) service(id, c);
}

void PortForwarder::on_connection_event(uint64_t id, bool target_side, uint32_t events) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  // What this socket's edge says about each direction: it is the source of one, the
  // destination of the other. Hang-up and error make a read return (0 or the error) at once.
  Flow& from_here = target_side ? c.to_client : c.to_target;
  Flow& to_here = target_side ? c.to_target : c.to_client;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) from_here.src_readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) to_here.dst_writable = true;
  if (!c.connected) {
    // Client bytes wait in the client socket until the target accepts; its edge is not lost,
    // since its flag stays set until a read finds it empty.
    if (!target_side) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(c.target.get(), SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      log::debug("{}: connect to {}: {}", c.listener->label, c.listener->rule.to_string(),
                 std::strerror(err));
      connect_failed_.fetch_add(1, std::memory_order_relaxed);
      close_connection(id);
      return;
    }
    if (!(events & EPOLLOUT)) return;
    c.connected = true;
  }
  if (events & EPOLLERR) {
    close_connection(id);
    return;
  }
  service(id, c);
}

void PortForwarder::service(uint64_t id, Connection& c) {
  Error error;
  Pump up = pump(c.client.get(), c.target.get(), c.to_target, bytes_to_target_, error);
  Pump down = up == Pump::kError
                  ? Pump::kError
                  : pump(c.target.get(), c.client.get(), c.to_client, bytes_to_client_, error);
  if (up == Pump::kError || down == Pump::kError) {
    log::debug("{}: connection {}: {}", c.listener->label, id, error.message());
    close_connection(id);
    return;
  }
  if (c.to_target.dst_shut && c.to_client.dst_shut) {
    close_connection(id);
    return;
  }
  if (up == Pump::kBusy || down == Pump::kBusy) again_.push_back(id);
}

void PortForwarder::close_connection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  recycle_pipe(std::move(it->second->to_target.pipe));
  recycle_pipe(std::move(it->second->to_client.pipe));
  connections_.erase(it);
  active_.fetch_sub(1, std::memory_order_relaxed);
}

Result<SplicePipe> PortForwarder::take_pipe() {
  if (spare_pipes_.empty()) return SplicePipe::make(kPipeCapacity);
  SplicePipe pipe = std::move(spare_pipes_.back());
  spare_pipes_.pop_back();
  return pipe;
}

void PortForwarder::recycle_pipe(SplicePipe pipe) {
  // Only empty pipes of the default size: a grown one holds the user's pipe quota (and a
  // closed connection's unsent bytes must not reach the next one).
  if (pipe.valid() && pipe.empty() && !pipe.grown() && spare_pipes_.size() < kSparePipes)
    spare_pipes_.push_back(std::move(pipe));
}

}  // namespace slipway::netns
