// Address leases: the pure choice (requested addresses, round-robin, exhaustion) and the leases
// file under its lock in a temporary root, including 20 forked processes allocating at once.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "base/fs.h"
#include "netns/ipam.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

Ipv4 ip(std::string_view s) {
  return *parse_ipv4(s);
}

Network make_network(std::string_view subnet, std::string name = "ci") {
  Network n;
  n.name = std::move(name);
  n.subnet = *parse_cidr(subnet);
  n.gateway = n.subnet.host(1);
  n.domain = n.name;
  n.bridge = "slw-" + n.name;
  return n;
}

Lease lease(std::string_view addr, std::string owner, std::vector<std::string> names = {}) {
  return Lease{ip(addr), std::move(owner), std::move(names), 0, 0};
}

TEST(ChooseAddress, FirstAfterGatewayThenRoundRobin) {
  Network n = make_network("10.0.0.0/24");
  LeaseTable t;
  EXPECT_EQ(*choose_address(n, t, std::nullopt), ip("10.0.0.2"));
  t.leases = {lease("10.0.0.2", "a")};
  t.last = ip("10.0.0.2");
  EXPECT_EQ(*choose_address(n, t, std::nullopt), ip("10.0.0.3"));
  // .2 was released after .7 was handed out: the next one is .8, not the just-freed .2.
  t.leases = {lease("10.0.0.7", "b")};
  t.last = ip("10.0.0.7");
  EXPECT_EQ(*choose_address(n, t, std::nullopt), ip("10.0.0.8"));
}

TEST(ChooseAddress, WrapsAroundSkippingGatewayAndLeases) {
  Network n = make_network("10.0.0.0/29");  // hosts .1-.6, gateway .1
  LeaseTable t;
  t.leases = {lease("10.0.0.2", "a"), lease("10.0.0.6", "b")};
  t.last = ip("10.0.0.6");
  EXPECT_EQ(*choose_address(n, t, std::nullopt), ip("10.0.0.3"));
  n.gateway = ip("10.0.0.6");  // a gateway at the top: allocation starts over at the bottom
  EXPECT_EQ(*choose_address(n, LeaseTable{}, std::nullopt), ip("10.0.0.1"));
}

TEST(ChooseAddress, RequestedAddressRules) {
  Network n = make_network("172.18.0.0/16");
  LeaseTable t;
  t.leases = {lease("172.18.0.5", std::string(64, 'a'), {"web"}), lease("172.18.0.6", "abc")};
  EXPECT_EQ(*choose_address(n, t, ip("172.18.3.4")), ip("172.18.3.4"));
  auto message = [&](std::string_view addr) {
    auto r = choose_address(n, t, ip(addr));
    return r ? std::string("ok") : r.error().message();
  };
  EXPECT_EQ(message("172.18.0.6"), "address 172.18.0.6 is already in use by container abc");
  EXPECT_EQ(message("172.18.0.5"),
            "address 172.18.0.5 is already in use by container aaaaaaaaaaaa (web)");
  EXPECT_EQ(message("10.0.0.5"), "address 10.0.0.5 is not in subnet 172.18.0.0/16 of network ci");
  EXPECT_EQ(message("172.18.0.0"),
            "address 172.18.0.0 is the network address of subnet 172.18.0.0/16");
  EXPECT_EQ(message("172.18.255.255"),
            "address 172.18.255.255 is the broadcast address of subnet 172.18.0.0/16");
  EXPECT_EQ(message("172.18.0.1"), "address 172.18.0.1 is the gateway of network ci");
}

TEST(ChooseAddress, SlashThirtyHoldsOneContainer) {
  Network n = make_network("10.0.0.0/30");
  LeaseTable t;
  EXPECT_EQ(*choose_address(n, t, std::nullopt), ip("10.0.0.2"));
  t.leases = {lease("10.0.0.2", "a")};
  auto full = choose_address(n, t, std::nullopt);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().message(),
            "network ci has no free address left in 10.0.0.0/30 (1 leased)");
}

TEST(LeaseTableJson, RoundTrips) {
  LeaseTable t;
  t.leases = {Lease{ip("10.0.0.2"), "abc", {"web", "web.local", "cache"}, 1234, 987654321},
              lease("10.0.0.3", "def")};
  t.last = ip("10.0.0.3");
  auto back = lease_table_from_json(lease_table_to_json(t), "x");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, t);
  auto bad = lease_table_from_json(R"({"leases":[{"ip":"10.0.0.300","owner":"a"}]})", "f.json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message().starts_with("f.json: ")) << bad.error().message();
}

class IpamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::make_dirs(networks_dir(dir_.path())));
    ASSERT_TRUE(fs::write_file(network_file(dir_.path(), net_.name), network_to_json(net_)));
  }
  Ipam ipam() { return Ipam(dir_.path(), net_); }

  testing::TempDir dir_{"slipway-ipam"};
  Network net_ = make_network("10.44.0.0/24");
};

TEST_F(IpamTest, AllocatePersistsLeasesInTheFile) {
  auto a = ipam().allocate("c1", {"web", "web-host"}, std::nullopt, 4242, 77);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->ip, ip("10.44.0.2"));
  auto text = fs::read_file(leases_file(dir_.path(), "ci"));
  ASSERT_TRUE(text) << text.error().message();
  auto table = lease_table_from_json(*text, "leases");
  ASSERT_TRUE(table);
  ASSERT_EQ(table->leases.size(), 1u);
  EXPECT_EQ(table->leases[0], (Lease{ip("10.44.0.2"), "c1", {"web", "web-host"}, 4242, 77}));
  EXPECT_EQ(table->last, ip("10.44.0.2"));
}

TEST_F(IpamTest, RequestedAddressInUseIsRefused) {
  ASSERT_TRUE(ipam().allocate("c1", {"web"}, ip("10.44.0.5"), 1, 1));
  auto again = ipam().allocate("c2", {}, ip("10.44.0.5"), 1, 1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "address 10.44.0.5 is already in use by container c1 (web)");
  auto gw = ipam().allocate("c2", {}, ip("10.44.0.1"), 1, 1);
  ASSERT_FALSE(gw);
  EXPECT_EQ(gw.error().message(), "address 10.44.0.1 is the gateway of network ci");
}

TEST_F(IpamTest, SameOwnerGetsItsLeaseBack) {
  auto first = ipam().allocate("c1", {"a"}, std::nullopt, 1, 1);
  ASSERT_TRUE(first);
  auto second = ipam().allocate("c1", {"b"}, std::nullopt, 2, 2);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->ip, first->ip);
  EXPECT_EQ(second->names, std::vector<std::string>{"b"});
  EXPECT_EQ(ipam().leases()->size(), 1u);
  auto other = ipam().allocate("c1", {}, ip("10.44.0.99"), 1, 1);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("already has address 10.44.0.2"), std::string::npos);
}

TEST_F(IpamTest, ExhaustionOfASlashThirtyAndReleaseFreesIt) {
  net_ = make_network("10.45.0.0/30", "tiny");
  ASSERT_TRUE(fs::write_file(network_file(dir_.path(), net_.name), network_to_json(net_)));
  auto a = ipam().allocate("c1", {}, std::nullopt, 1, 1);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->ip, ip("10.45.0.2"));
  auto b = ipam().allocate("c2", {}, std::nullopt, 1, 1);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(),
            "network tiny has no free address left in 10.45.0.0/30 (1 leased)");
  ASSERT_TRUE(ipam().release("c1"));
  ASSERT_TRUE(ipam().release("c1"));  // releasing twice is fine
  auto c = ipam().allocate("c2", {}, std::nullopt, 1, 1);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->ip, ip("10.45.0.2"));
}

TEST_F(IpamTest, ReclaimDropsOnlyDeadOwners) {
  ASSERT_TRUE(ipam().allocate("alive", {}, std::nullopt, 10, 1));
  ASSERT_TRUE(ipam().allocate("dead1", {}, std::nullopt, 11, 1));
  ASSERT_TRUE(ipam().allocate("dead2", {}, std::nullopt, 12, 1));
  auto dropped = ipam().reclaim([](const Lease& l) { return l.pid == 10; });
  ASSERT_TRUE(dropped) << dropped.error().message();
  ASSERT_EQ(dropped->size(), 2u);
  EXPECT_EQ((*dropped)[0].owner, "dead1");
  EXPECT_EQ((*dropped)[1].owner, "dead2");
  auto left = ipam().leases();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().owner, "alive");
}

TEST_F(IpamTest, UpdateNamesAndProcess) {
  ASSERT_TRUE(ipam().allocate("c1", {"old"}, std::nullopt, 1, 1));
  ASSERT_TRUE(ipam().update_names("c1", {"new", "alias"}));
  ASSERT_TRUE(ipam().update_process("c1", 99, 12345));
  auto l = ipam().leases();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->front().names, (std::vector<std::string>{"new", "alias"}));
  EXPECT_EQ(l->front().pid, 99);
  EXPECT_EQ(l->front().start_time, 12345u);
  auto missing = ipam().update_names("nobody", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "container nobody has no address on network ci");
}

TEST_F(IpamTest, AllocateOnARemovedNetworkFails) {
  ASSERT_EQ(::unlink(network_file(dir_.path(), "ci").c_str()), 0);
  auto a = ipam().allocate("c1", {}, std::nullopt, 1, 1);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message().find("network ci does not exist"), std::string::npos);
}

TEST_F(IpamTest, TwentyProcessesAtOnceGetDistinctAddresses) {
  constexpr int kChildren = 20;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      // All children block here until the parent closes the pipe: they start together.
      (void)!::read(go[0], &c, 1);
      auto r =
          Ipam(dir_.path(), net_).allocate(fmt::format("c{}", i), {}, std::nullopt, ::getpid(), 0);
      ::_exit(r ? 0 : 1);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid;
  }
  auto leases = ipam().leases();
  ASSERT_TRUE(leases) << leases.error().message();
  ASSERT_EQ(leases->size(), static_cast<size_t>(kChildren));
  std::set<uint32_t> ips;
  std::set<std::string> owners;
  for (const Lease& l : *leases) {
    ips.insert(l.ip.value);
    owners.insert(l.owner);
    EXPECT_TRUE(net_.subnet.contains(l.ip));
    EXPECT_NE(l.ip, net_.gateway);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kChildren));
  EXPECT_EQ(owners.size(), static_cast<size_t>(kChildren));
}

}  // namespace
}  // namespace slipway::netns
