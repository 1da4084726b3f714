// DnsServer on 127.0.0.1 and a free port, with a fake upstream resolver that this test runs on
// 127.0.0.1 too: local names over UDP and TCP, forwarding and relaying, upstream failures, bad
// packets, retransmissions and a loop of 200 queries. No traffic leaves loopback.
#include "netns/dns_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "netns/dns_message.h"
#include "tests/support/net_helpers.h"

namespace slipway::netns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;
using testing::loopback;
using testing::port_of;

Bytes make_query(const std::string& name, uint16_t id, uint16_t type = dns::kTypeA) {
  DnsMessage q;
  q.header.id = id;
  q.header.recursion_desired = true;
  q.questions.push_back({name, type, dns::kClassIN});
  return *build_dns_message(q);
}

// One UDP exchange; nullopt when nothing came back within `wait`.
std::optional<Bytes> udp_exchange(uint16_t port, const Bytes& query,
                                  std::chrono::milliseconds wait = 3000ms) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(port);
  if (::sendto(s.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to),
               sizeof to) < 0)
    return std::nullopt;
  pollfd p{s.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return std::nullopt;
  Bytes buf(65535);
  ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return buf;
}

UniqueFd tcp_connect(uint16_t port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) return UniqueFd();
  timeval tv{3, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

void send_framed(int fd, const Bytes& m) {
  Bytes framed = {static_cast<uint8_t>(m.size() >> 8), static_cast<uint8_t>(m.size())};
  framed.insert(framed.end(), m.begin(), m.end());
  ASSERT_EQ(::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL), ssize_t(framed.size()));
}

std::optional<Bytes> recv_framed(int fd) {
  uint8_t len[2];
  if (::recv(fd, len, 2, MSG_WAITALL) != 2) return std::nullopt;
  Bytes m(static_cast<size_t>(len[0] << 8 | len[1]));
  if (::recv(fd, m.data(), m.size(), MSG_WAITALL) != ssize_t(m.size())) return std::nullopt;
  return m;
}

std::optional<Bytes> tcp_exchange(uint16_t port, const Bytes& query) {
  UniqueFd s = tcp_connect(port);
  if (!s) return std::nullopt;
  send_framed(s.get(), query);
  return recv_framed(s.get());
}

std::vector<std::string> a_records(const DnsMessage& m) {
  std::vector<std::string> out;
  for (auto& rr : m.answers)
    if (rr.type == dns::kTypeA && rr.rdata.size() == 4)
      out.push_back(fmt::format("{}.{}.{}.{}", rr.rdata[0], rr.rdata[1], rr.rdata[2], rr.rdata[3]));
  return out;
}

// The outside world, played on 127.0.0.1: answers A queries over UDP and TCP with 192.0.2.1
// (TEST-NET-1) after an optional delay, or stays silent.
class FakeUpstream {
 public:
  explicit FakeUpstream(bool silent = false, std::chrono::milliseconds delay = 0ms)
      : silent_(silent), delay_(delay) {
    // The kernel picks a free UDP port; the same TCP port may be busy, so pick again then.
    for (int attempt = 0; attempt < 20 && !tcp_ok_; ++attempt) {
      udp_ = UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      sockaddr_in sa = loopback(0);
      ::bind(udp_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      port_ = port_of(udp_.get());
      tcp_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      int one = 1;
      ::setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sa = loopback(port_);
      tcp_ok_ = ::bind(tcp_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
                ::listen(tcp_.get(), 8) == 0;
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
  }
  DnsUpstream address() const { return {"127.0.0.1", port_}; }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }
  std::vector<uint16_t> ids() {
    std::lock_guard lock(mu_);
    return ids_;
  }
  bool tcp_ok() const { return tcp_ok_; }

 private:
  std::optional<Bytes> answer(const Bytes& query) {
    auto q = parse_dns_message(query);
    if (!q) return std::nullopt;
    {
      std::lock_guard lock(mu_);
      ids_.push_back(q->header.id);
    }
    DnsMessage r = make_dns_response(*q, dns::kNoError);
    if (!q->questions.empty() && q->questions[0].type == dns::kTypeA)
      r.answers.push_back(dns_a_record(q->questions[0].name, Ipv4{0xc0000201}, 300));
    return *build_dns_message(r);
  }

  void serve() {
    while (!stop_) {
      pollfd p[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      if (p[0].revents) {
        Bytes buf(65535);
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(udp_.get(), buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        ++udp_queries_;
        buf.resize(static_cast<size_t>(n));
        if (silent_) continue;
        std::this_thread::sleep_for(delay_);
        if (auto a = answer(buf))
          ::sendto(udp_.get(), a->data(), a->size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      if (p[1].revents) {
        UniqueFd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        timeval tv{2, 0};
        ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        auto q = recv_framed(c.get());
        if (!q) continue;
        ++tcp_queries_;
        if (silent_) continue;
        if (auto a = answer(*q)) send_framed(c.get(), *a);
      }
    }
  }

  bool silent_;
  std::chrono::milliseconds delay_;
  UniqueFd udp_, tcp_;
  uint16_t port_ = 0;
  bool tcp_ok_ = false;
  std::atomic<int> udp_queries_{0}, tcp_queries_{0};
  std::mutex mu_;
  std::vector<uint16_t> ids_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class DnsServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<DnsServer> start(std::vector<DnsUpstream> upstreams,
                                   std::chrono::milliseconds timeout = 1000ms,
                                   std::optional<Cidr> clients = std::nullopt) {
    DnsServerConfig config;
    config.clients = clients;
    config.listen_port = 0;
    config.zone.domain = "ci.slipway";
    config.zone.resolve = [](std::string_view fqdn) -> std::optional<std::vector<Ipv4>> {
      static const std::map<std::string, std::vector<Ipv4>, std::less<>> names = {
          {"mongodb-cluster-a-node-1.ci.slipway", {Ipv4{0xac120002}}},
          {"mongo.ci.slipway", {Ipv4{0xac120002}}},  // an alias of the same container
          {"redis.ci.slipway", {Ipv4{0xac120003}}},
      };
      auto it = names.find(fqdn);
      if (it == names.end()) return std::nullopt;
      return it->second;
    };
    config.upstreams = std::move(upstreams);
    config.upstream_timeout = timeout;
    auto server = DnsServer::start(std::move(config));
    EXPECT_TRUE(server) << server.error().message();
    return server ? std::move(*server) : nullptr;
  }
};

TEST_F(DnsServerTest, LocalNamesOverUdp) {
  auto server = start({});
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  struct Case {
    std::string name;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{{"mongodb-cluster-a-node-1", {"172.18.0.2"}},
                                         {"mongo", {"172.18.0.2"}},
                                         {"redis.ci.slipway", {"172.18.0.3"}},
                                         {"ReDiS.CI.Slipway.", {"172.18.0.3"}},
                                         {"MONGO", {"172.18.0.2"}}}) {
    auto wire = udp_exchange(server->port(), make_query(c.name, 0x1111));
    ASSERT_TRUE(wire) << c.name << ": no answer";
    auto m = parse_dns_message(*wire);
    ASSERT_TRUE(m) << c.name;
    EXPECT_EQ(m->header.id, 0x1111);
    EXPECT_EQ(m->rcode(), dns::kNoError) << c.name;
    EXPECT_EQ(a_records(*m), c.want) << c.name;
  }
  auto nx = parse_dns_message(*udp_exchange(server->port(), make_query("nothere", 2)));
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode(), dns::kNxDomain);
  auto aaaa =
      parse_dns_message(*udp_exchange(server->port(), make_query("redis", 3, dns::kTypeAAAA)));
  ASSERT_TRUE(aaaa);
  EXPECT_EQ(aaaa->rcode(), dns::kNoError);
  EXPECT_TRUE(aaaa->answers.empty());
  EXPECT_EQ(server->stats().udp_queries, 7u);
  EXPECT_EQ(server->stats().answered_locally, 7u);
}

TEST_F(DnsServerTest, AnswersOnlyItsOwnNetworksClients) {
  // As if 127.0.0.1 were a container of another network: no answer over UDP, TCP closed.
  auto other = start({}, 1000ms, parse_cidr("10.99.0.0/24").value());
  ASSERT_TRUE(other);
  EXPECT_FALSE(udp_exchange(other->port(), make_query("redis", 1), 300ms));
  EXPECT_FALSE(tcp_exchange(other->port(), make_query("redis", 2)));
  EXPECT_EQ(other->stats().answered_locally, 0u);
  auto own = start({}, 1000ms, parse_cidr("127.0.0.0/8").value());
  ASSERT_TRUE(own);
  EXPECT_TRUE(udp_exchange(own->port(), make_query("redis", 3)));
}

TEST_F(DnsServerTest, LocalNamesOverTcpIncludingPipelinedQueries) {
  auto server = start({});
  ASSERT_TRUE(server);
  auto wire = tcp_exchange(server->port(), make_query("mongo.ci.slipway", 7));
  ASSERT_TRUE(wire);
  auto m = parse_dns_message(*wire);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 7);
  EXPECT_EQ(a_records(*m), std::vector<std::string>{"172.18.0.2"});

  // Three queries in one write on one connection, then half-close: three answers, then EOF.
  UniqueFd s = tcp_connect(server->port());
  ASSERT_TRUE(s);
  Bytes batch;
  for (auto& [name, id] :
       std::vector<std::pair<std::string, uint16_t>>{{"redis", 1}, {"nothere", 2}, {"MONGO", 3}}) {
    Bytes q = make_query(name, id);
    batch.push_back(static_cast<uint8_t>(q.size() >> 8));
    batch.push_back(static_cast<uint8_t>(q.size()));
    batch.insert(batch.end(), q.begin(), q.end());
  }
  ASSERT_EQ(::send(s.get(), batch.data(), batch.size(), 0), ssize_t(batch.size()));
  ::shutdown(s.get(), SHUT_WR);
  std::map<uint16_t, uint16_t> rcode_by_id;
  for (int i = 0; i < 3; ++i) {
    auto a = recv_framed(s.get());
    ASSERT_TRUE(a) << "answer " << i;
    auto p = parse_dns_message(*a);
    ASSERT_TRUE(p);
    rcode_by_id[p->header.id] = p->rcode();
  }
  EXPECT_EQ(rcode_by_id, (std::map<uint16_t, uint16_t>{{1, 0}, {2, dns::kNxDomain}, {3, 0}}));
  char c;
  EXPECT_EQ(::recv(s.get(), &c, 1, 0), 0) << "server closes after the last answer";
  EXPECT_EQ(server->stats().tcp_queries, 4u);
}

TEST_F(DnsServerTest, OutsideNamesAreRelayedFromTheUpstream) {
  FakeUpstream upstream;
  ASSERT_TRUE(upstream.tcp_ok());
  auto server = start({upstream.address()});
  ASSERT_TRUE(server);
  auto wire = udp_exchange(server->port(), make_query("deb.debian.org", 0xabcd));
  ASSERT_TRUE(wire) << "no relayed answer";
  auto m = parse_dns_message(*wire);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 0xabcd) << "the id is the client's again";
  EXPECT_EQ(m->rcode(), dns::kNoError);
  EXPECT_EQ(a_records(*m), std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(m->answers[0].ttl, 300u) << "the upstream's answer, unchanged";
  EXPECT_EQ(upstream.udp_queries(), 1);

  // Over TCP the query is forwarded over TCP.
  auto tcp = tcp_exchange(server->port(), make_query("ftp.debian.org", 0x0102));
  ASSERT_TRUE(tcp);
  auto t = parse_dns_message(*tcp);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->header.id, 0x0102);
  EXPECT_EQ(a_records(*t), std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(upstream.tcp_queries(), 1);
  EXPECT_EQ(server->stats().forwarded, 2u);
  // Single-label names never go upstream, even unknown ones.
  udp_exchange(server->port(), make_query("nothere", 5));
  EXPECT_EQ(upstream.udp_queries(), 1);
}

TEST_F(DnsServerTest, SilentUpstreamGivesServfailWithinTheTimeout) {
  FakeUpstream silent(true);
  auto server = start({silent.address()}, 300ms);
  ASSERT_TRUE(server);
  auto t0 = Clock::now();
  auto wire = udp_exchange(server->port(), make_query("example.org", 0x0909));
  auto elapsed = Clock::now() - t0;
  ASSERT_TRUE(wire) << "no SERVFAIL";
  auto m = parse_dns_message(*wire);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 0x0909);
  EXPECT_EQ(m->rcode(), dns::kServFail);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(server->stats().upstream_failed, 1u);

  auto tcp = tcp_exchange(server->port(), make_query("example.org", 0x0a0a));
  ASSERT_TRUE(tcp);
  EXPECT_EQ(parse_dns_message(*tcp)->rcode(), dns::kServFail);
}

TEST_F(DnsServerTest, RefusedUpstreamFailsFastAndTheNextOneIsTried) {
  uint16_t dead_port;
  {
    UniqueFd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa = loopback(0);
    ::bind(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    dead_port = port_of(probe.get());
  }
  auto only_dead = start({{"127.0.0.1", dead_port}}, 2000ms);
  ASSERT_TRUE(only_dead);
  auto t0 = Clock::now();
  auto wire = udp_exchange(only_dead->port(), make_query("example.org", 1));
  ASSERT_TRUE(wire);
  EXPECT_EQ(parse_dns_message(*wire)->rcode(), dns::kServFail);
  EXPECT_LT(Clock::now() - t0, 1000ms) << "port unreachable must not wait for the timeout";

  FakeUpstream silent(true), good;
  auto server = start({{"127.0.0.1", dead_port}, silent.address(), good.address()}, 200ms);
  ASSERT_TRUE(server);
  t0 = Clock::now();
  wire = udp_exchange(server->port(), make_query("example.org", 2));
  ASSERT_TRUE(wire);
  EXPECT_EQ(a_records(*parse_dns_message(*wire)), std::vector<std::string>{"192.0.2.1"});
  EXPECT_GE(Clock::now() - t0, 150ms) << "the silent one was waited for";
  EXPECT_EQ(silent.udp_queries(), 1);
  EXPECT_EQ(good.udp_queries(), 1);
}

TEST_F(DnsServerTest, RetransmissionsAreNotForwardedTwice) {
  FakeUpstream slow(false, 200ms);
  auto server = start({slow.address()});
  ASSERT_TRUE(server);
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to = loopback(server->port());
  Bytes q = make_query("example.net", 0x7777);
  for (int i = 0; i < 3; ++i)
    ASSERT_GT(::sendto(s.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              0);
  pollfd p{s.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  Bytes buf(1500);
  ASSERT_GT(::recv(s.get(), buf.data(), buf.size(), 0), 0);
  EXPECT_EQ(::poll(&p, 1, 300), 0) << "exactly one answer";
  EXPECT_EQ(slow.udp_queries(), 1);
  EXPECT_EQ(server->stats().dropped, 2u);
  ASSERT_EQ(slow.ids().size(), 1u);
}

TEST_F(DnsServerTest, MalformedQueriesAreIgnoredOrFormerr) {
  auto server = start({});
  ASSERT_TRUE(server);
  EXPECT_FALSE(udp_exchange(server->port(), Bytes{1, 2, 3, 4, 5}, 200ms)) << "no header: silence";
  Bytes loop = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  auto formerr = udp_exchange(server->port(), loop);
  ASSERT_TRUE(formerr);
  auto m = parse_dns_message(*formerr);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->header.id, 0x1234);
  EXPECT_EQ(m->rcode(), dns::kFormErr);
  // A TCP message claiming more bytes than it sends, then EOF: the server just closes.
  UniqueFd s = tcp_connect(server->port());
  ASSERT_TRUE(s);
  uint8_t partial[] = {0, 200, 1, 2, 3};
  ASSERT_EQ(::send(s.get(), partial, sizeof partial, 0), 5);
  ::shutdown(s.get(), SHUT_WR);
  char c;
  EXPECT_EQ(::recv(s.get(), &c, 1, 0), 0);
  // Still serving.
  auto ok = udp_exchange(server->port(), make_query("redis", 9));
  ASSERT_TRUE(ok);
  EXPECT_EQ(a_records(*parse_dns_message(*ok)), std::vector<std::string>{"172.18.0.3"});
}

TEST_F(DnsServerTest, TwoHundredQueriesInALoop) {
  FakeUpstream upstream;
  auto server = start({upstream.address()});
  ASSERT_TRUE(server);
  std::vector<double> micros;
  for (int i = 0; i < 200; ++i) {
    bool outside = i % 10 == 9;
    std::string name = outside ? fmt::format("host{}.example.com", i)
                               : (i % 2 ? "redis" : "mongodb-cluster-a-node-1.ci.slipway");
    auto t0 = Clock::now();
    auto wire = udp_exchange(server->port(), make_query(name, static_cast<uint16_t>(i)));
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    ASSERT_TRUE(wire) << "query " << i;
    auto m = parse_dns_message(*wire);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->header.id, i);
    EXPECT_EQ(a_records(*m).size(), 1u) << name;
  }
  std::sort(micros.begin(), micros.end());
  std::printf("200 UDP queries: median %.0f us, max %.0f us\n", micros[100], micros.back());
  EXPECT_EQ(upstream.udp_queries(), 20);
  EXPECT_EQ(server->stats().answered_locally, 180u);
  EXPECT_EQ(server->stats().forwarded, 20u);
}

TEST_F(DnsServerTest, BusyPortAndBadConfigAreClearErrors) {
  auto first = start({});
  ASSERT_TRUE(first);
  DnsServerConfig config;
  config.listen_port = first->port();
  auto second = DnsServer::start(config);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message(),
            fmt::format("dns server 127.0.0.1:{}/udp: address already in use", first->port()));

  DnsServerConfig bad_upstream;
  bad_upstream.listen_port = 0;
  bad_upstream.upstreams = {{"resolver.example", 53}};
  auto r = DnsServer::start(bad_upstream);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "dns server 127.0.0.1:0: upstream DNS server \"resolver.example\": not an IP address");

  DnsServerConfig bad_domain;
  bad_domain.listen_port = 0;
  bad_domain.zone.domain = "a..b";
  r = DnsServer::start(bad_domain);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "dns server 127.0.0.1:0: invalid domain \"a..b\"");

  DnsServerConfig not_here;
  not_here.listen_address = Ipv4{0xc0000263};  // 192.0.2.99: on no interface of this host
  r = DnsServer::start(not_here);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "dns server 192.0.2.99:53/udp: address not assigned to any interface");
  first->stop();
  first->stop();
}

}  // namespace
}  // namespace slipway::netns
