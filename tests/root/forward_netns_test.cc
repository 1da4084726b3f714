// The port forwarder across network namespaces, in namespaces this test creates: --forward
// (listen in the namespace, connect to the host's 127.0.0.1) with data, 10 MB, half-close, 300
// concurrent connections, a busy port, a refused target and a real redis-server reached by
// redis-cli run inside the namespace; and -p (listen on the host, connect into the namespace).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "netns/netns_fd.h"
#include "netns/port_forwarder.h"
#include "netns/socket_maker.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::loopback;
using testing::make_test_netns;
using testing::port_of;
using testing::read_to_eof;
using testing::run_in_netns;

// A TCP socket of namespace ns (-1: this thread's) bound to 127.0.0.1:port.
UniqueFd bound_socket(int ns, uint16_t port, int extra_type = 0) {
  int type = SOCK_STREAM | SOCK_CLOEXEC | extra_type;
  UniqueFd fd = ns < 0 ? UniqueFd(::socket(AF_INET, type, 0))
                       : make_socket_in_netns(ns, AF_INET, type).value_or(UniqueFd());
  sockaddr_in sa = loopback(port);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return UniqueFd();
  return fd;
}

// A connected client socket of namespace ns with a 10 s receive timeout.
UniqueFd connect_in(int ns, uint16_t port) {
  UniqueFd fd =
      ns < 0 ? UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0))
             : make_socket_in_netns(ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC).value_or(UniqueFd());
  sockaddr_in sa = loopback(port);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return UniqueFd();
  timeval tv{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool read_exact(int fd, std::string& out, size_t n) {
  out.resize(n);
  return ::recv(fd, out.data(), n, MSG_WAITALL) == ssize_t(n);
}

template <class F>
bool wait_until(F done, std::chrono::milliseconds limit = 5000ms) {
  for (auto deadline = Clock::now() + limit; Clock::now() < deadline;
       std::this_thread::sleep_for(2ms))
    if (done()) return true;
  return done();
}

// Echo server for many clients at once (poll, non-blocking), listening on 127.0.0.1 of namespace
// ns (-1: this one). After a client's FIN it sends what is left, then its own FIN.
class EchoServer {
 public:
  explicit EchoServer(int ns = -1) : listener_(bound_socket(ns, 0, SOCK_NONBLOCK)) {
    ::listen(listener_.get(), SOMAXCONN);
    port_ = port_of(listener_.get());
    wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    thread_ = std::thread([this] { loop(); });
  }
  ~EchoServer() {
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  struct Conn {
    UniqueFd fd;
    std::string pending;
    bool eof = false;
  };

  void loop() {
    std::map<int, Conn> conns;
    for (;;) {
      std::vector<pollfd> fds = {{wake_.get(), POLLIN, 0}, {listener_.get(), POLLIN, 0}};
      for (auto& [fd, c] : conns) {
        short want = (c.eof || c.pending.size() > (1 << 20) ? 0 : POLLIN) |
                     (c.pending.empty() ? 0 : POLLOUT);
        fds.push_back({fd, want, 0});
      }
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
      if (fds[0].revents) return;
      if (fds[1].revents) {
        int fd;
        while ((fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
               0)
          conns[fd].fd = UniqueFd(fd);
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        Conn& c = conns[fds[i].fd];
        bool dead = false;
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          char buf[65536];
          ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
          if (n > 0) c.pending.append(buf, static_cast<size_t>(n));
          if (n == 0) c.eof = true;
          if (n < 0 && errno != EAGAIN) dead = true;
        }
        if (!c.pending.empty() && !dead) {
          ssize_t n = ::send(c.fd.get(), c.pending.data(), c.pending.size(), MSG_NOSIGNAL);
          if (n > 0) c.pending.erase(0, static_cast<size_t>(n));
          if (n < 0 && errno != EAGAIN) dead = true;
        }
        if (dead || (c.eof && c.pending.empty())) conns.erase(fds[i].fd);
      }
    }
  }

  UniqueFd listener_;
  uint16_t port_ = 0;
  UniqueFd wake_;
  std::thread thread_;
};

class ForwardNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (creates network namespaces)";
    auto ns = make_test_netns();
    ASSERT_TRUE(ns) << ns.error().message();
    ns_ = std::move(*ns);
  }

  // A started forwarder for one rule: listen in the test namespace on 127.0.0.1:listen_port,
  // connect in this namespace to 127.0.0.1:target_port.
  std::unique_ptr<PortForwarder> forward_into_host(uint16_t listen_port, uint16_t target_port) {
    auto fwd = PortForwarder::create();
    if (!fwd) {
      ADD_FAILURE() << fwd.error().message();
      return nullptr;
    }
    ForwardRule rule;
    rule.listen_netns_fd = ns_.get();
    rule.listen_port = listen_port;
    rule.target_port = target_port;
    auto added = (*fwd)->add_rule(rule);
    if (!added) {
      ADD_FAILURE() << added.error().message();
      return nullptr;
    }
    auto started = (*fwd)->start();
    if (!started) ADD_FAILURE() << started.error().message();
    return std::move(*fwd);
  }

  UniqueFd ns_;
};

TEST_F(ForwardNetnsTest, ListenerLivesInTheNamespaceAndRoundTrips) {
  EchoServer echo;
  auto fwd = forward_into_host(6379, echo.port());
  ASSERT_TRUE(fwd);
  UniqueFd c = connect_in(ns_.get(), 6379);
  ASSERT_TRUE(c) << "connect to 127.0.0.1:6379 inside the namespace";
  ASSERT_EQ(::send(c.get(), "hello\n", 6, 0), 6);
  std::string got;
  ASSERT_TRUE(read_exact(c.get(), got, 6));
  EXPECT_EQ(got, "hello\n");
  // The echo server's port exists only on the host side: inside the namespace nothing listens.
  EXPECT_FALSE(connect_in(ns_.get(), echo.port()));
}

TEST_F(ForwardNetnsTest, ListensEvenBeforeTheNamespacesOwnerBroughtLoUp) {
  // The runtime's hooks run while the container is still setting itself up: its "lo" may be down.
  auto fresh = create_netns();
  ASSERT_TRUE(fresh) << fresh.error().message();
  EchoServer echo;
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  ForwardRule rule;
  rule.listen_netns_fd = fresh->get();
  rule.listen_port = 6379;
  rule.target_port = echo.port();
  auto added = (*fwd)->add_rule(rule);
  ASSERT_TRUE(added) << added.error().message();
  ASSERT_TRUE((*fwd)->start());
  UniqueFd c = connect_in(fresh->get(), 6379);
  ASSERT_TRUE(c) << "connect to 127.0.0.1:6379 inside the namespace";
  ASSERT_EQ(::send(c.get(), "hi\n", 3, 0), 3);
  std::string got;
  ASSERT_TRUE(read_exact(c.get(), got, 3));
  EXPECT_EQ(got, "hi\n");
}

TEST_F(ForwardNetnsTest, TenMegabytesArriveIntact) {
  EchoServer echo;
  auto fwd = forward_into_host(7001, echo.port());
  ASSERT_TRUE(fwd);
  UniqueFd c = connect_in(ns_.get(), 7001);
  ASSERT_TRUE(c);
  std::string data(10 << 20, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= data.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  std::thread writer([&] {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(c.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::shutdown(c.get(), SHUT_WR);
  });
  auto [echoed, eof] = read_to_eof(c.get());
  writer.join();
  EXPECT_TRUE(eof);
  ASSERT_EQ(echoed.size(), data.size());
  EXPECT_EQ(std::hash<std::string>{}(echoed), std::hash<std::string>{}(data));
  EXPECT_TRUE(echoed == data) << "bytes differ";
  EXPECT_TRUE(wait_until([&] { return fwd->stats().active == 0; }));
  EXPECT_EQ(fwd->stats().bytes_to_target, data.size());
  EXPECT_EQ(fwd->stats().bytes_to_client, data.size());
}

TEST_F(ForwardNetnsTest, HalfCloseKeepsTheReplyFlowing) {
  EchoServer echo;
  auto fwd = forward_into_host(7002, echo.port());
  ASSERT_TRUE(fwd);
  UniqueFd c = connect_in(ns_.get(), 7002);
  ASSERT_TRUE(c);
  std::string request = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::send(c.get(), request.data(), request.size(), 0), ssize_t(request.size()));
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
  // The echo server answers only after it has seen our FIN through the forwarder, and closes
  // only after answering: reading the whole reply and then EOF proves both FINs were relayed.
  auto [reply, eof] = read_to_eof(c.get());
  EXPECT_EQ(reply, request);
  EXPECT_TRUE(eof);
}

TEST_F(ForwardNetnsTest, ThreeHundredConcurrentConnections) {
  constexpr int kClients = 300;
  rlimit nofile;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
  if (nofile.rlim_cur < 4096) {
    // Each connection costs 2 client-side, 2 forwarder and 4 pipe fds in this one process.
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, 8192);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &nofile), 0);
  }
  EchoServer echo;
  auto fwd = forward_into_host(7003, echo.port());
  ASSERT_TRUE(fwd);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_in(ns_.get(), 7003));
    ASSERT_TRUE(clients.back()) << "client " << i;
  }
  // All open at once before anyone talks, then every one gets its own message back.
  for (int i = 0; i < kClients; ++i) {
    std::string msg = fmt::format("client-{:04}", i);
    ASSERT_EQ(::send(clients[i].get(), msg.data(), msg.size(), 0), ssize_t(msg.size()));
  }
  EXPECT_TRUE(wait_until([&] { return fwd->stats().active == uint64_t(kClients); }))
      << fwd->stats().active << " of " << kClients << " open at once";
  for (int i = 0; i < kClients; ++i) {
    std::string got;
    ASSERT_TRUE(read_exact(clients[i].get(), got, 11)) << "client " << i;
    EXPECT_EQ(got, fmt::format("client-{:04}", i));
  }
  EXPECT_EQ(fwd->stats().accepted, uint64_t(kClients));
  clients.clear();
  EXPECT_TRUE(wait_until([&] { return fwd->stats().active == 0; }))
      << fwd->stats().active << " connections still open";
}

TEST_F(ForwardNetnsTest, BusyPortInTheNamespaceIsAClearError) {
  UniqueFd squatter = bound_socket(ns_.get(), 6380);
  ASSERT_TRUE(squatter);
  ASSERT_EQ(::listen(squatter.get(), 1), 0);
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  ForwardRule rule;
  rule.listen_netns_fd = ns_.get();
  rule.listen_port = 6380;
  rule.target_port = 6380;
  auto added = (*fwd)->add_rule(rule);
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().message(),
            "forward 127.0.0.1:6380: address already in use in the container's network namespace");
  // The same port on the host is free: the error really came from the namespace.
  UniqueFd host_side = bound_socket(-1, 0);
  ASSERT_TRUE(host_side);
}

TEST_F(ForwardNetnsTest, RefusedTargetClosesTheClientConnection) {
  uint16_t dead_port = port_of(bound_socket(-1, 0).get());  // bound, then closed at once
  auto fwd = forward_into_host(7004, dead_port);
  ASSERT_TRUE(fwd);
  UniqueFd c = connect_in(ns_.get(), 7004);
  ASSERT_TRUE(c);
  char buf[1];
  EXPECT_LE(::recv(c.get(), buf, 1, 0), 0);
  EXPECT_TRUE(wait_until([&] { return fwd->stats().connect_failed == 1; }));
}

TEST_F(ForwardNetnsTest, PublishListensOnTheHostAndConnectsIntoTheNamespace) {
  EchoServer echo_in_ns(ns_.get());
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  auto rule = parse_publish_spec(fmt::format("127.0.0.1::{}", echo_in_ns.port()));
  ASSERT_TRUE(rule) << rule.error().message();
  rule->connect_netns_fd = ns_.get();
  auto index = (*fwd)->add_rule(*rule);
  ASSERT_TRUE(index) << index.error().message();
  ASSERT_TRUE((*fwd)->start());
  uint16_t host_port = (*fwd)->listen_port(*index);

  // More connections than the socket maker's ready pool, to cover its refill too.
  for (int i = 0; i < 40; ++i) {
    UniqueFd c = connect_in(-1, host_port);
    ASSERT_TRUE(c);
    std::string msg = fmt::format("published-{:02}", i);
    ASSERT_EQ(::send(c.get(), msg.data(), msg.size(), 0), ssize_t(msg.size()));
    ::shutdown(c.get(), SHUT_WR);
    auto [reply, eof] = read_to_eof(c.get());
    EXPECT_EQ(reply, msg);
    EXPECT_TRUE(eof);
  }
  EXPECT_EQ((*fwd)->stats().connect_failed, 0u);
}

// redis-server on the host's loopback, stopped and reaped at the end of the test.
class RedisServer {
 public:
  RedisServer() {
    port_ = port_of(bound_socket(-1, 0).get());
    std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~RedisServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  uint16_t port() const { return port_; }
  bool wait_ready() {
    return wait_until([&] { return static_cast<bool>(connect_in(-1, port_)); }, 10000ms);
  }

 private:
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(ForwardNetnsTest, RedisCliInsideTheNamespaceReachesTheHostsRedis) {
  if (::access("/usr/bin/redis-server", X_OK) != 0 || ::access("/usr/bin/redis-cli", X_OK) != 0)
    GTEST_SKIP() << "redis-server and redis-cli (Debian redis-server, redis-tools) not installed";
  RedisServer redis;
  ASSERT_TRUE(redis.wait_ready()) << "redis-server did not listen on 127.0.0.1:" << redis.port();
  auto fwd = forward_into_host(6379, redis.port());
  ASSERT_TRUE(fwd);

  auto ping = run_in_netns(ns_.get(), {"redis-cli", "-p", "6379", "PING"});
  EXPECT_EQ(ping.exit_code, 0) << ping.out;
  EXPECT_EQ(ping.out, "PONG\n");
  auto set = run_in_netns(ns_.get(), {"redis-cli", "-p", "6379", "SET", "slipway", "forwarded"});
  EXPECT_EQ(set.out, "OK\n");
  // Read back straight from the host side: the write really reached the host's redis.
  auto get =
      testing::run_command({"redis-cli", "-p", std::to_string(redis.port()), "GET", "slipway"});
  EXPECT_EQ(get.out, "forwarded\n");
  // And the namespace has no route to the host's redis port except through the forwarder.
  auto direct = run_in_netns(ns_.get(), {"redis-cli", "-p", std::to_string(redis.port()), "PING"});
  EXPECT_NE(direct.out, "PONG\n");
}

}  // namespace
}  // namespace slipway::netns
