// Networks on disk in a temporary root with a fixed host route table: create, get, list,
// remove (refused while containers are attached), the default network and its override, and
// concurrent creates of overlapping subnets from forked processes; what gc removes of removed
// networks.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "base/file_lock.h"
#include "base/fs.h"
#include "netns/ipam.h"
#include "netns/network_store.h"
#include "tests/support/test_support.h"

namespace slipway::netns {
namespace {

Cidr cidr(std::string_view s) {
  return *parse_cidr(s);
}

class NetworkStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv(std::string(kDefaultSubnetEnv).c_str()); }
  void TearDown() override { ::unsetenv(std::string(kDefaultSubnetEnv).c_str()); }

  NetworkStore store() {
    return NetworkStore(dir_.path(),
                        [this]() -> Result<std::vector<Ipv4Route>> { return routes_; });
  }
  NetworkOptions subnet(std::string_view s) {
    NetworkOptions o;
    o.subnet = cidr(s);
    return o;
  }

  testing::TempDir dir_{"slipway-networks"};
  std::vector<Ipv4Route> routes_{{cidr("0.0.0.0/0"), "eth0", parse_ipv4("192.0.2.1").value()},
                                 {cidr("192.0.2.0/24"), "eth0", std::nullopt}};
};

TEST_F(NetworkStoreTest, CreateWritesTheFileAndGetReadsIt) {
  auto n = store().create("ci", subnet("10.40.0.0/24"));
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_TRUE(fs::exists(dir_.path() + "/networks/ci.json"));
  auto back = store().get("ci");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, *n);
  // Not the default root: the bridge name carries the root's tag.
  EXPECT_EQ(back->bridge, bridge_name_for("ci", dir_.path()));
  EXPECT_TRUE(back->bridge.starts_with("s") && back->bridge.ends_with("-ci")) << back->bridge;
  EXPECT_EQ(back->gateway.to_string(), "10.40.0.1");
}

TEST_F(NetworkStoreTest, UnknownNetworkIsNotFound) {
  auto n = store().get("nope");
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message(), "network nope not found");
  auto st = store().remove("nope");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "network nope not found");
}

TEST_F(NetworkStoreTest, RefusesOverlapWithHostRouteAndOtherNetwork) {
  auto host = store().create("a", subnet("192.0.2.0/25"));
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().message(),
            "network a: subnet 192.0.2.0/25 overlaps the host route 192.0.2.0/24 dev eth0");
  ASSERT_TRUE(store().create("b", subnet("10.41.0.0/16")));
  auto other = store().create("c", subnet("10.41.8.0/24"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message(),
            "network c: subnet 10.41.8.0/24 overlaps network b (10.41.0.0/16)");
  EXPECT_FALSE(fs::exists(network_file(dir_.path(), "a")));
  EXPECT_FALSE(fs::exists(network_file(dir_.path(), "c")));
}

TEST_F(NetworkStoreTest, AutomaticSubnetsAvoidEachOtherAndTheDefault) {
  auto a = store().create("a");
  auto b = store().create("b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->subnet.to_string(), "172.19.0.0/16");
  EXPECT_EQ(b->subnet.to_string(), "172.20.0.0/16");
  auto d = store().ensure_default();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->subnet.to_string(), "172.18.0.0/16");
}

TEST_F(NetworkStoreTest, ListIsSortedAndSkipsLeaseFiles) {
  ASSERT_TRUE(store().create("zeta", subnet("10.42.0.0/24")));
  ASSERT_TRUE(store().create("alpha", subnet("10.43.0.0/24")));
  auto alpha = store().get("alpha");
  ASSERT_TRUE(Ipam(dir_.path(), *alpha).allocate("c1", {}, std::nullopt, 1, 1));
  auto all = store().list();
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "zeta");
}

TEST_F(NetworkStoreTest, RemoveIsRefusedWhileContainersAreAttached) {
  auto n = store().create("ci", subnet("10.46.0.0/24"));
  ASSERT_TRUE(n);
  Ipam ipam(dir_.path(), *n);
  ASSERT_TRUE(ipam.allocate("c1", {}, std::nullopt, 1, 1));
  ASSERT_TRUE(ipam.allocate("c2", {}, std::nullopt, 1, 1));
  auto st = store().remove("ci");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "network ci has 2 containers attached");
  ASSERT_TRUE(ipam.release("c1"));
  ASSERT_TRUE(ipam.release("c2"));
  st = store().remove("ci");
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_FALSE(fs::exists(network_file(dir_.path(), "ci")));
  EXPECT_FALSE(fs::exists(leases_file(dir_.path(), "ci")));
  EXPECT_FALSE(fs::exists(leases_lock_file(dir_.path(), "ci")));
  EXPECT_FALSE(store().get("ci"));
  // A lease on the removed network is refused, not written beside nothing.
  EXPECT_FALSE(ipam.allocate("c3", {}, std::nullopt, 1, 1));
}

TEST_F(NetworkStoreTest, DefaultNetworkIsMadeOnceAndHonoursTheEnvironment) {
  ::setenv(std::string(kDefaultSubnetEnv).c_str(), "10.47.0.0/20", 1);
  auto d = store().ensure_default();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->name, "slipway");
  EXPECT_EQ(d->subnet.to_string(), "10.47.0.0/20");
  EXPECT_EQ(d->gateway.to_string(), "10.47.0.1");
  EXPECT_EQ(d->domain, "slipway");
  EXPECT_EQ(d->bridge, bridge_name_for("slipway", dir_.path()));
  // Later changes of the variable do not move an existing network.
  ::setenv(std::string(kDefaultSubnetEnv).c_str(), "10.48.0.0/20", 1);
  auto again = store().ensure_default();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *d);
}

TEST_F(NetworkStoreTest, DefaultNetworkTakesAFreeSubnetWhenTheSeedsIsTaken) {
  routes_.push_back({cidr("172.18.0.0/16"), "br-1234", std::nullopt});  // another root's bridge
  auto d = store().ensure_default();
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_FALSE(d->subnet.overlaps(cidr("172.18.0.0/16")));
  EXPECT_EQ(d->subnet.to_string(), "172.19.0.0/16");  // what `network create` would pick
}

TEST_F(NetworkStoreTest, DefaultNetworkOverlapOfTheChosenSubnetSaysHowToMoveIt) {
  routes_.push_back({cidr("10.47.0.0/16"), "br-1234", std::nullopt});
  ::setenv(std::string(kDefaultSubnetEnv).c_str(), "10.47.0.0/20", 1);
  auto d = store().ensure_default();
  ASSERT_FALSE(d);  // asked for explicitly: no other subnet instead
  EXPECT_NE(d.error().message().find("SLIPWAY_DEFAULT_SUBNET"), std::string::npos);
  EXPECT_NE(d.error().message().find("10.47.0.0/16 dev br-1234"), std::string::npos)
      << d.error().message();
  ::setenv(std::string(kDefaultSubnetEnv).c_str(), "not-a-subnet", 1);
  d = store().ensure_default();
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("$SLIPWAY_DEFAULT_SUBNET"), std::string::npos);
}

TEST_F(NetworkStoreTest, ConcurrentCreatesOfOverlappingSubnetsLetExactlyOneWin) {
  constexpr int kChildren = 8;
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto n = store().create(fmt::format("n{}", i), subnet("10.49.0.0/24"));
      ::_exit(n ? 0 : 1);
    }
    pids.push_back(pid);
  }
  int winners = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    winners += WEXITSTATUS(status) == 0;
  }
  EXPECT_EQ(winners, 1);
  auto all = store().list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

std::vector<std::string> files_in(const std::string& dir) {
  auto files = fs::list_dir(dir);
  return files ? *files : std::vector<std::string>{};
}

TEST_F(NetworkStoreTest, RemoveTakesTheDnsFilesUnlessTheDnsProcessStillServes) {
  std::string root = dir_.path(), dir = networks_dir(root);
  ASSERT_TRUE(store().create("idle", subnet("10.50.0.0/24")));
  ASSERT_TRUE(fs::write_file(dns_lock_file(root, "idle"), ""));
  ASSERT_TRUE(fs::write_file(dns_log_file(root, "idle"), "started\n"));
  ASSERT_TRUE(store().remove("idle"));
  EXPECT_EQ(files_in(dir), std::vector<std::string>{".lock"});

  // A DNS process that still holds its lock removes both itself as it exits.
  ASSERT_TRUE(store().create("busy", subnet("10.50.1.0/24")));
  auto dns = FileLock::acquire(dns_lock_file(root, "busy"));
  ASSERT_TRUE(dns);
  ASSERT_TRUE(fs::write_file(dns_log_file(root, "busy"), ""));
  ASSERT_TRUE(store().remove("busy"));
  EXPECT_EQ(files_in(dir), (std::vector<std::string>{".lock", "busy.dns.lock", "busy.dns.log"}));
  auto removed = store().remove_orphan_files();
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_TRUE(removed->empty());
  // Killed instead: gc takes them.
  *dns = FileLock();
  removed = store().remove_orphan_files();
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(*removed, (std::vector<std::string>{"busy.dns.lock", "busy.dns.log"}));
  EXPECT_EQ(files_in(dir), std::vector<std::string>{".lock"});
}

TEST_F(NetworkStoreTest, OrphanFilesGoButLiveNetworksHeldLocksAndLiveWritersStay) {
  std::string root = dir_.path(), dir = networks_dir(root);
  ASSERT_TRUE(store().create("live", subnet("10.51.0.0/24")));
  for (const auto& path :
       {dns_lock_file(root, "live"), dns_log_file(root, "live"), leases_lock_file(root, "live")})
    ASSERT_TRUE(fs::write_file(path, ""));
  // What a `network rm` killed between its steps, or a DNS process killed after it, leaves.
  for (const auto& path : {leases_file(root, "gone"), leases_lock_file(root, "gone"),
                           dns_lock_file(root, "gone"), dns_log_file(root, "gone")})
    ASSERT_TRUE(fs::write_file(path, ""));
  // A leases lock some process holds right now.
  ASSERT_TRUE(fs::write_file(leases_lock_file(root, "held"), ""));
  auto held = FileLock::acquire(leases_lock_file(root, "held"));
  ASSERT_TRUE(held);
  // write_file_atomic's temporary files: of a killed writer, and of this live process.
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  std::string dead_tmp = fmt::format("new.json.tmp.{}", dead);
  std::string live_tmp = fmt::format("live.leases.json.tmp.{}", ::getpid());
  ASSERT_TRUE(fs::write_file(fs::join(dir, dead_tmp), "{"));
  ASSERT_TRUE(fs::write_file(fs::join(dir, live_tmp), "{"));
  ASSERT_TRUE(fs::write_file(fs::join(dir, "notes.txt"), "not slipway's"));

  auto removed = store().remove_orphan_files();
  ASSERT_TRUE(removed) << removed.error().message();
  std::sort(removed->begin(), removed->end());
  EXPECT_EQ(*removed, (std::vector<std::string>{"gone.dns.lock", "gone.dns.log", "gone.leases.json",
                                                "gone.leases.lock", dead_tmp}));
  auto left = files_in(dir);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{".lock", "held.leases.lock", "live.dns.lock",
                                            "live.dns.log", "live.json",
                                            "live.leases.json.tmp." + std::to_string(::getpid()),
                                            "live.leases.lock", "notes.txt"}));
  ASSERT_TRUE(store().get("live"));
}

}  // namespace
}  // namespace slipway::netns
