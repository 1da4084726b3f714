// The forwarder's data path without privileges: listener and target both on this namespace's
// 127.0.0.1. The cross-namespace cases are in tests/root/forward_netns_test.cc.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "netns/port_forwarder.h"
#include "netns/splice_pipe.h"
#include "tests/support/net_helpers.h"

namespace slipway::netns {
namespace {

using namespace std::chrono_literals;
using testing::loopback;
using testing::port_of;
using testing::read_to_eof;

UniqueFd listen_on_loopback(uint16_t port = 0) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return UniqueFd();
  if (::listen(fd.get(), 64) < 0) return UniqueFd();
  return fd;
}

UniqueFd connect_to(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return UniqueFd();
  timeval tv{5, 0};  // no test read ever waits longer
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Echoes one connection at a time on its own thread: enough for these single-client tests.
class SerialEchoServer {
 public:
  SerialEchoServer() : listener_(listen_on_loopback()) {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{listener_.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) continue;
        char buf[65536];
        ssize_t n;
        while ((n = ::recv(conn.get(), buf, sizeof buf, 0)) > 0)
          if (::send(conn.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
      }
    });
  }
  ~SerialEchoServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_of(listener_.get()); }

 private:
  UniqueFd listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

template <class F>
bool wait_until(F done) {
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(2ms))
    if (done()) return true;
  return done();
}

ForwardRule rule_to(uint16_t target_port) {
  ForwardRule rule;
  rule.target_port = target_port;
  return rule;
}

TEST(ForwardLoopbackTest, SplicePipeMovesBytesBetweenSockets) {
  int a[2], b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
  UniqueFd a0(a[0]), a1(a[1]), b0(b[0]), b1(b[1]);
  auto pipe = SplicePipe::make(1 << 16);
  ASSERT_TRUE(pipe) << pipe.error().message();
  EXPECT_GE(pipe->capacity(), 4096u);

  auto nothing = pipe->fill_from(a1.get());
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(nothing->has_value()) << "an empty source would block";

  ASSERT_EQ(::send(a0.get(), "hello", 5, 0), 5);
  auto got = pipe->fill_from(a1.get());
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ(**got, 5u);
  EXPECT_EQ(pipe->buffered(), 5u);
  auto out = pipe->drain_to(b0.get());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, 5u);
  EXPECT_TRUE(pipe->empty());
  char buf[8] = {};
  ASSERT_EQ(::recv(b1.get(), buf, sizeof buf, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");

  ::shutdown(a0.get(), SHUT_WR);
  auto eof = pipe->fill_from(a1.get());
  ASSERT_TRUE(eof && eof->has_value());
  EXPECT_EQ(**eof, 0u) << "end of stream";
}

TEST(ForwardLoopbackTest, SplicePipeGrowsWhileATransferKeepsItFull) {
  int a[2], b[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
  UniqueFd a0(a[0]), a1(a[1]), b0(b[0]), b1(b[1]);
  auto pipe = SplicePipe::make(1 << 20);
  ASSERT_TRUE(pipe);
  const size_t initial = pipe->capacity();
  EXPECT_EQ(initial, 65536u) << "starts at the kernel's default";
  // Feed more than the initial size and never drain: each time it is full it grows.
  std::string chunk(16384, 'g');
  size_t sent = 0, taken = 0;
  for (int i = 0; i < 200 && taken < 4 * initial; ++i) {
    ssize_t n = ::send(a0.get(), chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) sent += static_cast<size_t>(n);
    auto got = pipe->fill_from(a1.get());
    ASSERT_TRUE(got) << got.error().message();
    if (got->has_value()) taken += **got;
  }
  EXPECT_GT(pipe->capacity(), initial);
  EXPECT_EQ(pipe->buffered(), taken);
  EXPECT_GT(taken, initial);
  // Everything comes out in order.
  std::string out;
  while (!pipe->empty()) {
    auto n = pipe->drain_to(b0.get());
    ASSERT_TRUE(n);
    char buf[65536];
    ssize_t r;
    while ((r = ::recv(b1.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0) out.append(buf, r);
  }
  EXPECT_EQ(out.size(), taken);
  EXPECT_EQ(out, std::string(taken, 'g'));
}

TEST(ForwardLoopbackTest, RoundTripCountsBytesAndConnections) {
  SerialEchoServer echo;
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd) << fwd.error().message();
  auto index = (*fwd)->add_rule(rule_to(echo.port()));
  ASSERT_TRUE(index) << index.error().message();
  uint16_t port = (*fwd)->listen_port(*index);
  ASSERT_NE(port, 0);
  ASSERT_TRUE((*fwd)->start());

  UniqueFd c = connect_to(port);
  ASSERT_TRUE(c);
  ASSERT_EQ(::send(c.get(), "ping", 4, 0), 4);
  char buf[4];
  ASSERT_EQ(::recv(c.get(), buf, 4, MSG_WAITALL), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  ::shutdown(c.get(), SHUT_WR);
  auto [rest, eof] = read_to_eof(c.get());
  EXPECT_TRUE(eof);
  EXPECT_EQ(rest, "");
  c.reset();

  EXPECT_TRUE(wait_until([&] { return (*fwd)->stats().active == 0; }));
  ForwardStats s = (*fwd)->stats();
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.bytes_to_target, 4u);
  EXPECT_EQ(s.bytes_to_client, 4u);
  EXPECT_EQ(s.connect_failed, 0u);
}

TEST(ForwardLoopbackTest, HalfCloseStillDeliversTheReply) {
  SerialEchoServer echo;
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  uint16_t port = (*fwd)->listen_port(*(*fwd)->add_rule(rule_to(echo.port())));
  ASSERT_TRUE((*fwd)->start());

  UniqueFd c = connect_to(port);
  ASSERT_TRUE(c);
  std::string request(200000, 'r');
  ASSERT_EQ(::send(c.get(), request.data(), request.size(), 0), ssize_t(request.size()));
  ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
  auto [reply, eof] = read_to_eof(c.get());
  EXPECT_TRUE(eof);
  EXPECT_EQ(reply.size(), request.size());
  EXPECT_EQ(reply, request);
}

TEST(ForwardLoopbackTest, RefusedTargetClosesTheClient) {
  uint16_t dead_port;
  {
    UniqueFd probe = listen_on_loopback();
    dead_port = port_of(probe.get());
  }  // closed: nothing listens there now
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  uint16_t port = (*fwd)->listen_port(*(*fwd)->add_rule(rule_to(dead_port)));
  ASSERT_TRUE((*fwd)->start());

  UniqueFd c = connect_to(port);
  ASSERT_TRUE(c);
  char buf[1];
  EXPECT_LE(::recv(c.get(), buf, 1, 0), 0) << "the client must be closed, not left hanging";
  EXPECT_TRUE(wait_until([&] {
    ForwardStats s = (*fwd)->stats();
    return s.connect_failed == 1 && s.active == 0;
  }));
}

TEST(ForwardLoopbackTest, BusyPortIsAnErrorAtAddRule) {
  UniqueFd taken = listen_on_loopback();
  uint16_t port = port_of(taken.get());
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  ForwardRule rule = rule_to(9);
  rule.direction = ForwardRule::Direction::kPublish;
  rule.listen_port = port;
  auto r = (*fwd)->add_rule(rule);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            fmt::format("publish 127.0.0.1:{}: address already in use on the host", port));
  EXPECT_EQ(r.error().code(), EADDRINUSE);
}

TEST(ForwardLoopbackTest, StopClosesOpenConnectionsAndRulesAfterStartAreRefused) {
  SerialEchoServer echo;
  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd);
  uint16_t port = (*fwd)->listen_port(*(*fwd)->add_rule(rule_to(echo.port())));
  ASSERT_TRUE((*fwd)->start());
  EXPECT_FALSE((*fwd)->add_rule(rule_to(echo.port())));
  EXPECT_FALSE((*fwd)->start());

  UniqueFd c = connect_to(port);
  ASSERT_TRUE(c);
  ASSERT_EQ(::send(c.get(), "x", 1, 0), 1);
  char buf[1];
  ASSERT_EQ(::recv(c.get(), buf, 1, 0), 1);
  (*fwd)->stop();
  auto [rest, eof] = read_to_eof(c.get());
  EXPECT_TRUE(eof) << "stop() closes the connection";
  EXPECT_FALSE(connect_to(port)) << "stop() closes the listener";
  (*fwd)->stop();  // idempotent
}

}  // namespace
}  // namespace slipway::netns
