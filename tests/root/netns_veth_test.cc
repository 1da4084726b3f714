// Containers on a bridge, for real, in the host's network namespace: a network and its bridge
// (named slwt<pid>...), two container namespaces (one held by a forked child that unshared, one
// by an fd), veth pairs created straight into them, addresses from IPAM, and TCP traffic from
// container A to container B and to the gateway. Then the cleanup: each host veth disappears with
// its namespace, the bridge with network rm. Also `slipway gc`'s removal of the veths of dead
// containers (engine::collect_garbage), in a private namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "engine/garbage.h"
#include "netns/ipam.h"
#include "netns/netlink.h"
#include "netns/netns_fd.h"
#include "netns/network_store.h"
#include "netns/veth.h"
#include "runtime/container_store.h"
#include "tests/support/net_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::port_of;

// A forked child in a network namespace of its own, sleeping until the destructor kills and
// reaps it: the way a container process holds its namespace.
class NetnsChild {
 public:
  NetnsChild() {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      char ok = ::unshare(CLONE_NEWNET) == 0 ? 1 : 0;
      (void)!::write(ready[1], &ok, 1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char ok = 0;
    if (pid_ > 0 && ::read(ready[0], &ok, 1) == 1 && ok == 1) ready_ = true;
    ::close(ready[0]);
  }
  ~NetnsChild() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool ready_ = false;
};

Result<UniqueFd> listen_on(Ipv4 addr) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr.value);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return fail_errno(fmt::format("bind {}", addr.to_string()));
  if (::listen(fd.get(), 4) < 0) return fail_errno("listen");
  return fd;
}

Result<UniqueFd> connect_to(Ipv4 addr, uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("socket");
  timeval tv{5, 0};  // bounds connect() too: a broken path fails the test instead of hanging
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr.value);
  sa.sin_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return fail_errno(fmt::format("connect to {}:{}", addr.to_string(), port));
  return fd;
}

// Accepts one connection on listener, checks it comes from `from`, and echoes one message.
void expect_round_trip(int listener, int client, Ipv4 from) {
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  UniqueFd conn(::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid()) << "accept: " << std::strerror(errno);
  EXPECT_EQ(Ipv4{ntohl(peer.sin_addr.s_addr)}, from);  // no NAT on the path: a bridge only
  ASSERT_EQ(::send(client, "ping", 4, MSG_NOSIGNAL), 4);
  char buf[8] = {};
  ASSERT_EQ(::recv(conn.get(), buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  ASSERT_EQ(::send(conn.get(), "pong", 4, MSG_NOSIGNAL), 4);
  ASSERT_EQ(::recv(client, buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "pong");
}

// Polls until link `name` is gone from nl's namespace (namespace teardown is asynchronous).
bool wait_link_gone(Netlink& nl, const std::string& name, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    auto exists = nl.link_exists(name);
    if (exists && !*exists) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

class VethTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (network namespaces, links); run as root";
  }
  std::string name(std::string_view suffix) const {
    return fmt::format("slwt{}{}", ::getpid(), suffix);
  }
};

TEST_F(VethTest, TwoContainersOnABridgeReachEachOtherAndTheGateway) {
  testing::TempDir root("slipway-netns-root");
  const std::string bridge = name("b"), veth_a = name("a"), veth_c = name("c");
  auto host = Netlink::open();
  ASSERT_TRUE(host) << host.error().message();
  // Remove what this test makes even when it fails; delete_link ignores links already gone.
  ScopeExit cleanup([&] {
    for (const std::string& l : {veth_a, veth_c, bridge}) (void)host->delete_link(l);
  });

  // A /24 in 10.0.0.0/8 that no host route uses, derived from the pid.
  auto routes = host_routes();
  ASSERT_TRUE(routes) << routes.error().message();
  NetworkOptions options;
  options.bridge = bridge;
  for (uint32_t i = 0; i < 64 && !options.subnet; ++i) {
    uint32_t n = static_cast<uint32_t>(::getpid()) + i * 7919;
    Cidr c{Ipv4{(10u << 24) | ((200 + n % 50) << 16) | (((n / 50) % 256) << 8)}, 24};
    if (check_subnet_available(c, bridge, *routes, {})) options.subnet = c;
  }
  ASSERT_TRUE(options.subnet) << "no free /24 for the test network";
  NetworkStore store(root.path());
  auto net = store.create(name("n"), options);
  ASSERT_TRUE(net) << net.error().message();
  auto bridged = ensure_bridge(*net);
  ASSERT_TRUE(bridged) << bridged.error().message();

  NetnsChild child_a;
  ASSERT_TRUE(child_a.ready());
  auto ns_a = open_netns(child_a.pid());
  ASSERT_TRUE(ns_a) << ns_a.error().message();
  auto ns_c = create_netns();
  ASSERT_TRUE(ns_c) << ns_c.error().message();

  Ipam ipam(root.path(), *net);
  auto lease_a = ipam.allocate("container-a", {"a"}, std::nullopt, child_a.pid(), 0);
  auto lease_c = ipam.allocate("container-c", {"c"}, std::nullopt, ::getpid(), 0);
  ASSERT_TRUE(lease_a && lease_c);

  // The start path: one request for the pair, then the container side. Nothing is deleted.
  for (auto [veth, ns, lease] :
       {std::tuple{veth_a, ns_a->get(), *lease_a}, std::tuple{veth_c, ns_c->get(), *lease_c}}) {
    auto t0 = Clock::now();
    auto made = create_veth_into(*host, veth, bridge, ns, "eth0", net->mtu);
    ASSERT_TRUE(made) << made.error().message();
    auto t1 = Clock::now();
    auto configured = configure_container_interface(ns, "eth0", lease.ip, net->subnet.prefix,
                                                    net->gateway, net->mtu);
    ASSERT_TRUE(configured) << configured.error().message();
    auto t2 = Clock::now();
    std::chrono::duration<double, std::milli> create = t1 - t0, configure = t2 - t1;
    std::printf("[ TIMING   ] %s: create veth %.3f ms + configure %.3f ms = %.3f ms\n",
                veth.c_str(), create.count(), configure.count(), (create + configure).count());
  }

  auto bridge_link = host->link(bridge);
  ASSERT_TRUE(bridge_link);
  EXPECT_TRUE(bridge_link->up);
  for (const std::string& v : {veth_a, veth_c}) {
    auto l = host->link(v);
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(l->kind, "veth");
    EXPECT_EQ(l->master, bridge_link->index);
    EXPECT_TRUE(l->up);
    EXPECT_EQ(l->mtu, net->mtu);
  }
  auto facts = in_netns(ns_a->get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    LinkInfo eth0 = SLW_TRY(nl.link("eth0"));
    EXPECT_TRUE(eth0.up);
    EXPECT_EQ(eth0.mtu, net->mtu);
    EXPECT_TRUE(SLW_TRY(nl.link("lo")).up);
    auto addrs = SLW_TRY(nl.addresses("eth0"));
    EXPECT_EQ(addrs, (std::vector<std::pair<Ipv4, int>>{{lease_a->ip, net->subnet.prefix}}));
    auto rs = SLW_TRY(nl.routes());
    EXPECT_TRUE(std::any_of(rs.begin(), rs.end(), [&](const Ipv4Route& r) {
      return r.destination.prefix == 0 && r.gateway == net->gateway && r.ifname == "eth0";
    }));
    return {};
  });
  ASSERT_TRUE(facts) << facts.error().message();

  {
    // A -> C through the bridge: C listens inside its namespace, A connects from inside its own.
    auto listener = in_netns(ns_c->get(), [&] { return listen_on(lease_c->ip); });
    ASSERT_TRUE(listener) << listener.error().message();
    uint16_t port = port_of(listener->get());
    auto client = in_netns(ns_a->get(), [&] { return connect_to(lease_c->ip, port); });
    ASSERT_TRUE(client) << client.error().message();
    expect_round_trip(listener->get(), client->get(), lease_a->ip);
  }
  {
    // A -> the gateway, the bridge's address in the host namespace.
    auto listener = listen_on(net->gateway);
    ASSERT_TRUE(listener) << listener.error().message();
    uint16_t port = port_of(listener->get());
    auto client = in_netns(ns_a->get(), [&] { return connect_to(net->gateway, port); });
    ASSERT_TRUE(client) << client.error().message();
    expect_round_trip(listener->get(), client->get(), lease_a->ip);
  }

  // Cleanup as in production: the host ends go away with their namespaces.
  ns_c->reset();
  EXPECT_TRUE(wait_link_gone(*host, veth_c, 5s)) << veth_c << " outlived its namespace";
  ns_a->reset();
  child_a.stop();
  EXPECT_TRUE(wait_link_gone(*host, veth_a, 5s)) << veth_a << " outlived its namespace";
  ASSERT_TRUE(ipam.release("container-a"));
  ASSERT_TRUE(ipam.release("container-c"));
  auto removed = store.remove(net->name);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_FALSE(*host->link_exists(bridge));
}

TEST_F(VethTest, GcRemovesOnlyTheVethsOfItsStoresDeadContainers) {
  // All in a private "host" namespace, so gc's links are only those made here.
  auto host_ns = create_netns();
  auto container_ns = create_netns();
  ASSERT_TRUE(host_ns && container_ns);
  testing::TempDir root("slipway-veth-gc");
  auto store = runtime::ContainerStore::open(fs::join(root.path(), "run"));
  ASSERT_TRUE(store) << store.error().message();
  // Ids whose first 12 hex digits (the veth name) differ: pid, then a counter.
  auto id = [](int n) { return fmt::format("{:08x}{:04x}", ::getpid(), n) + std::string(52, 'e'); };
  const std::string dead_id = id(1), alive_id = id(2), foreign_id = id(3);
  runtime::ContainerState dead;  // a killed runtime: no process has these start times
  dead.status = runtime::ContainerStatus::kRunning;
  dead.pid = dead.supervisor_pid = ::getpid();
  dead.pid_start_time = dead.supervisor_start_time = 1;
  runtime::ContainerState alive = dead;
  alive.pid_start_time = alive.supervisor_start_time = runtime::process_start_time(::getpid());
  for (const auto& [cid, state] : {std::pair{dead_id, dead}, std::pair{alive_id, alive}}) {
    runtime::ContainerRecord r;
    r.id = r.spec.id = cid;
    r.name = cid.substr(0, 16);
    ASSERT_TRUE(store->create(r));
    ASSERT_TRUE(store->save_state(cid, state));
  }
  const std::string dead_veth = host_veth_name(dead_id), alive_veth = host_veth_name(alive_id);
  const std::string foreign_veth = host_veth_name(foreign_id);  // another root's container
  auto st = in_netns(host_ns->get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    SLW_TRY(nl.create_bridge("br0", 1500));
    SLW_TRY(create_veth_into(nl, alive_veth, "br0", container_ns->get(), "eth0", 1500));
    SLW_TRY(create_veth_into(nl, dead_veth, "br0", container_ns->get(), "eth1", 1500));
    SLW_TRY(create_veth_into(nl, foreign_veth, "br0", container_ns->get(), "eth2", 1500));
    auto report = SLW_TRY(engine::collect_garbage(root.path(), *store));
    EXPECT_EQ(report.links, std::vector<std::string>{dead_veth});
    EXPECT_TRUE(SLW_TRY(nl.link_exists(alive_veth)));
    EXPECT_FALSE(SLW_TRY(nl.link_exists(dead_veth)));
    EXPECT_TRUE(SLW_TRY(nl.link_exists(foreign_veth)));
    EXPECT_TRUE(SLW_TRY(engine::collect_garbage(root.path(), *store)).links.empty());
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

TEST_F(VethTest, BadInputsAreRefusedWithTheirNames) {
  auto ns = create_netns();
  ASSERT_TRUE(ns);
  auto st = in_netns(ns->get(), [&]() -> Status {
    Netlink nl = SLW_TRY(Netlink::open());
    auto no_bridge = create_veth_into(nl, "slwtv1", "slwtnobr", ns->get(), "eth0", 1500);
    EXPECT_FALSE(no_bridge);
    if (!no_bridge) {
      EXPECT_EQ(no_bridge.error().message(),
                "create veth slwtv1 (peer eth0) on bridge slwtnobr: look up link slwtnobr: no "
                "such link");
    }
    SLW_TRY(nl.create_bridge("br0", 1500));
    EXPECT_FALSE(create_veth_into(nl, "slwt-name-too-long", "br0", ns->get(), "eth0", 1500));
    EXPECT_FALSE(create_veth_into(nl, "slwtv1", "br0", ns->get(), "eth0", 10));
    auto bad_gw = configure_container_interface(ns->get(), "eth0", *parse_ipv4("10.0.0.2"), 24,
                                                *parse_ipv4("10.0.1.1"), 1500);
    EXPECT_FALSE(bad_gw);
    if (!bad_gw) {
      EXPECT_NE(bad_gw.error().message().find("gateway 10.0.1.1 is not another address of "
                                              "10.0.0.0/24"),
                std::string::npos);
    }
    return {};
  });
  ASSERT_TRUE(st) << st.error().message();
}

}  // namespace
}  // namespace slipway::netns
