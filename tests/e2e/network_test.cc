// Container networks through the slipway binary: bridge networks with addresses and names,
// shared network stacks (container:), IPAM under concurrency, bad input, gc after SIGKILL, and
// nothing of a removed network left behind.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

using nlohmann::json;

class NetworkTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    // Names outside a network's domain go upstream: here to a closed port on loopback, so no query
    // ever leaves this machine.
    ::setenv("SLIPWAY_DNS_UPSTREAMS", "127.0.0.1:9", 1);
    load_busybox();
  }

  void TearDown() override {
    if (!IsSkipped()) {
      for (const auto& n : networks_) slipway({"network", "rm", n});
      // A network's DNS process ends once the network is gone.
      for (int i = 0; i < 150 && !processes_containing(root()).empty(); ++i) usleep(20000);
      auto links = run_command({"ip", "-o", "link", "show"}).out;
      for (const auto& b : bridges_)
        EXPECT_EQ(links.find(" " + b + ":"), std::string::npos) << "bridge left";
    }
    RootTest::TearDown();
  }

  // A network with a subnet no other test process is using (tries a few; overlaps are refused).
  std::string make_network(const std::string& base) {
    std::string name = base + std::to_string(getpid() % 100000);
    for (int attempt = 0; attempt < 40; ++attempt) {
      int x = 20 + (getpid() + attempt) % 10, y = (getpid() / 10 + attempt * 7) % 250;
      std::string subnet = "172." + std::to_string(x) + "." + std::to_string(y) + ".0/24";
      auto r = slipway({"network", "create", name, "--subnet", subnet});
      if (r.exit_code == 0) {
        networks_.push_back(name);
        subnet_ = subnet;
        // Under a test root the bridge is sHHHH-NAME (or a hash), not slw-NAME.
        bridges_.push_back(
            json::parse(fs::read_file(root() + "/networks/" + name + ".json").value_or("{}"))
                .value("bridge", ""));
        return name;
      }
      if (r.err.find("overlaps") == std::string::npos) {
        ADD_FAILURE() << r.err;
        return name;
      }
    }
    ADD_FAILURE() << "no free subnet";
    return name;
  }

  std::string ip_of(const std::string& container) {
    auto j = json::parse(slipway({"inspect", container}).out);
    std::string hosts = j[0]["spec"]["network"]["extra_hosts"];
    return hosts.substr(0, hosts.find('\t'));
  }

  std::vector<std::string> networks_;
  std::vector<std::string> bridges_;
  std::string subnet_;
};

TEST_F(NetworkTest, ContainersOnANetworkReachEachOther) {
  std::string net = make_network("reach");
  ASSERT_EQ(slipway({"run", "-d", "--name", "srv", "--net", net, "busybox", "sh", "-c",
                     "while true; do echo pong | nc -l -p 7000; done"}).exit_code, 0);
  std::string ip = ip_of("srv");
  ASSERT_FALSE(ip.empty());
  // Docker's views of the same lease.
  EXPECT_EQ(slipway({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "srv"}).out, ip + "\n");
  EXPECT_EQ(slipway({"inspect", "-f", "{{(index .NetworkSettings.Networks \"" + net + "\").IPAddress}}", "srv"}).out,
            ip + "\n");
  EXPECT_EQ(slipway({"ps", "--filter", "network=" + net, "--format", "{{.Names}} {{.Networks}}"}).out,
            "srv " + net + "\n");
  EXPECT_EQ(slipway({"ps", "--filter", "network=elsewhere", "-q"}).out, "");
  auto r = slipway({"run", "--rm", "--net", net, "busybox", "sh", "-c",
                    "for i in $(seq 50); do nc " + ip + " 7000 </dev/null && break; sleep 0.05; done"});
  EXPECT_EQ(r.out, "pong\n") << r.err;
  auto eth = slipway({"run", "--rm", "--net", net, "--ip", ip.substr(0, ip.rfind('.')) + ".77", "busybox",
                      "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'; ip route | grep default"});
  EXPECT_EQ(eth.out.substr(0, eth.out.find('\n')), ip.substr(0, ip.rfind('.')) + ".77/24") << eth.err;
  EXPECT_NE(eth.out.find("default via"), std::string::npos);
  EXPECT_EQ(slipway({"rm", "-f", "srv"}).exit_code, 0);
}

TEST_F(NetworkTest, ServiceDnsAnswersNamesAliasesAndSearchDomain) {
  std::string net = make_network("dns");
  ASSERT_EQ(slipway({"run", "-d", "--name", "db", "--alias", "mongodb-cluster-a-node-1", "--net", net,
                     "busybox", "sleep", "30"}).exit_code, 0);
  std::string ip = ip_of("db");
  auto q = [&](const std::string& name) {
    return slipway({"run", "--rm", "--net", net, "busybox", "nslookup", name}).out;
  };
  EXPECT_NE(q("db").find("Address: " + ip), std::string::npos) << q("db");
  EXPECT_NE(q("mongodb-cluster-a-node-1").find("Address: " + ip), std::string::npos);
  EXPECT_NE(q("DB." + net).find("Address: " + ip), std::string::npos) << "case-insensitive, with domain";
  auto unknown = slipway({"run", "--rm", "--net", net, "busybox", "nslookup", "nosuch." + net});
  EXPECT_NE(unknown.out.find("NXDOMAIN"), std::string::npos) << unknown.out << unknown.err;
  // The plain service name works for ordinary programs too, through the search domain.
  auto ping = slipway({"run", "--rm", "--net", net, "busybox", "ping", "-c", "1", "-W", "2",
                       "mongodb-cluster-a-node-1"});
  EXPECT_EQ(ping.exit_code, 0) << ping.out << ping.err;
  auto resolv = slipway({"run", "--rm", "--net", net, "busybox", "cat", "/etc/resolv.conf"}).out;
  EXPECT_NE(resolv.find("search " + net), std::string::npos) << resolv;
  // A name outside the domain is relayed upstream; the (closed) upstream fails it quickly.
  auto outside = slipway({"run", "--rm", "--net", net, "busybox", "nslookup", "example.org"});
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_EQ(slipway({"rm", "-f", "db"}).exit_code, 0);
}

TEST_F(NetworkTest, ContainerModeSharesTheHoldersLocalhost) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "holder", "busybox", "sleep", "30"}).exit_code, 0);
  ASSERT_EQ(slipway({"run", "-d", "--name", "app", "--net", "container:holder", "busybox", "sh", "-c",
                     "while true; do echo from-app | nc -l -p 8080; done"}).exit_code, 0);
  auto r = slipway({"run", "--rm", "--net", "container:holder", "busybox", "sh", "-c",
                    "for i in $(seq 50); do nc 127.0.0.1 8080 </dev/null && break; sleep 0.05; done"});
  EXPECT_EQ(r.out, "from-app\n") << r.err;
  // The holder goes away: its members are stopped, not left without a network.
  EXPECT_EQ(slipway({"rm", "-f", "holder"}).exit_code, 0);
  json state;
  for (int i = 0; i < 200; ++i) {
    state = json::parse(slipway({"inspect", "app"}).out)[0]["state"];
    if (state["status"] == "exited") break;
    usleep(25000);
  }
  EXPECT_EQ(state["status"], "exited");
  EXPECT_NE(state["error"].get<std::string>().find("network"), std::string::npos) << state.dump();
  EXPECT_EQ(slipway({"rm", "app"}).exit_code, 0);
}

TEST_F(NetworkTest, ConcurrentStartsGetDistinctAddresses) {
  std::string net = make_network("many");
  std::vector<std::future<CommandResult>> runs;
  for (int i = 0; i < 20; ++i)
    runs.push_back(std::async(std::launch::async, [&] {
      return slipway({"run", "--rm", "--net", net, "busybox", "sh", "-c",
                      "ip -4 -o addr show eth0 | awk '{print $4}'"});
    }));
  std::set<std::string> ips;
  for (auto& f : runs) {
    auto r = f.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    ips.insert(r.out);
  }
  EXPECT_EQ(ips.size(), 20u);
  auto ls = slipway({"network", "ls"}).out;
  EXPECT_NE(ls.find(net), std::string::npos);
}

TEST_F(NetworkTest, BadInputGetsClearErrors) {
  std::string net = make_network("bad");
  auto cidr = slipway({"network", "create", "x1", "--subnet", "172.16.0.0/33"});
  EXPECT_NE(cidr.exit_code, 0);
  EXPECT_NE(cidr.err.find("172.16.0.0/33"), std::string::npos) << cidr.err;
  auto overlap = slipway({"network", "create", "x2", "--subnet", subnet_});
  EXPECT_NE(overlap.err.find("overlaps"), std::string::npos) << overlap.err;
  auto unknown = slipway({"run", "--rm", "--net", "nosuchnet", "busybox", "true"});
  EXPECT_EQ(unknown.exit_code, 125);
  EXPECT_NE(unknown.err.find("nosuchnet"), std::string::npos) << unknown.err;
  auto no_holder = slipway({"run", "--rm", "--net", "container:ghost", "busybox", "true"});
  EXPECT_NE(no_holder.err.find("ghost"), std::string::npos) << no_holder.err;
  ASSERT_EQ(slipway({"run", "--name", "stopped", "busybox", "true"}).exit_code, 0);
  auto stopped = slipway({"run", "--rm", "--net", "container:stopped", "busybox", "true"});
  EXPECT_NE(stopped.err.find("not running"), std::string::npos) << stopped.err;
  auto outside = slipway({"run", "--rm", "--net", net, "--ip", "1.2.3.4", "busybox", "true"});
  EXPECT_EQ(outside.exit_code, 125);
  EXPECT_NE(outside.err.find("1.2.3.4"), std::string::npos) << outside.err;
  ASSERT_EQ(slipway({"run", "-d", "--name", "a", "--net", net, "busybox", "sleep", "30"}).exit_code, 0);
  auto taken = slipway({"run", "--rm", "--net", net, "--ip", ip_of("a"), "busybox", "true"});
  EXPECT_NE(taken.err.find("in use"), std::string::npos) << taken.err;
  auto busy = slipway({"network", "rm", net});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_EQ(slipway({"rm", "-f", "a", "stopped"}).exit_code, 0);
  // Nothing of the failed runs is left: only the (now empty) network remains.
  EXPECT_EQ(slipway({"ps", "-a", "-q"}).out, "");
}

TEST_F(NetworkTest, GcAfterSigkillLeavesNoLeaseOrLink) {
  std::string net = make_network("gc");
  pid_t pid = fork();
  if (pid == 0) {
    execl(slipway_binary().c_str(), "slipway", "--root", root().c_str(), "--run-root", run_root().c_str(),
          "run", "--name", "victim", "--net", net.c_str(), "busybox", "sleep", "60", nullptr);
    _exit(127);
  }
  std::string ps;
  for (int i = 0; i < 200 && ps.find("victim") == std::string::npos; ++i) {
    usleep(10000);
    ps = slipway({"ps"}).out;
  }
  ASSERT_NE(ps.find("victim"), std::string::npos);
  std::string id = json::parse(slipway({"inspect", "victim"}).out)[0]["id"];
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // The container dies of its parent-death signal shortly after; gc acts once it has.
  std::string gc_out;
  for (int i = 0; i < 100; ++i) {
    auto gc = slipway({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    gc_out += gc.out;
    if (gc_out.find("released address") != std::string::npos && cgroups_containing(id).empty()) break;
    usleep(20000);
  }
  EXPECT_NE(gc_out.find("released address"), std::string::npos) << gc_out;
  // The veth went with the container's netns.
  for (int i = 0; i < 100; ++i) {
    if (run_command({"ip", "-o", "link", "show"}).out.find("slv" + id.substr(0, 12)) == std::string::npos) break;
    usleep(20000);
  }
  EXPECT_EQ(run_command({"ip", "-o", "link", "show"}).out.find("slv" + id.substr(0, 12)), std::string::npos);
  EXPECT_EQ(cgroups_containing(id), std::vector<std::string>{});
  EXPECT_EQ(slipway({"rm", "victim"}).exit_code, 0);
  EXPECT_EQ(slipway({"network", "rm", net}).exit_code, 0);
}

TEST_F(NetworkTest, RemovedNetworkLeavesNoFileBridgeOrDnsProcess) {
  std::string net = make_network("gone");
  std::string bridge = bridges_.back();
  ASSERT_EQ(slipway({"run", "--rm", "--net", net, "busybox", "true"}).exit_code, 0);
  // The container started the network's DNS process, which would serve 3 s longer; rm does not
  // wait for it, and it takes its lock and log with it as it notices the network gone.
  auto rm = slipway({"network", "rm", net});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  networks_.pop_back();
  auto leftovers = [&] {
    std::vector<std::string> out;
    for (const auto& f : fs::list_dir(root() + "/networks").value_or(std::vector<std::string>{}))
      if (f.starts_with(net + ".")) out.push_back(f);
    for (int pid : processes_containing("dns-serve " + net))
      out.push_back("dns-serve pid " + std::to_string(pid));
    return out;
  };
  for (int i = 0; i < 100 && !leftovers().empty(); ++i) usleep(20000);
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
  EXPECT_EQ(run_command({"ip", "-o", "link", "show"}).out.find(" " + bridge + ":"),
            std::string::npos);
  // And what a killed rm or DNS process leaves, gc removes.
  for (const char* suffix : {".dns.lock", ".dns.log", ".leases.lock"})
    ASSERT_TRUE(fs::write_file(root() + "/networks/" + net + suffix, ""));
  auto gc = slipway({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed network file " + net + ".dns.lock"), std::string::npos) << gc.out;
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
}

// `network rm` deletes a network under its leases lock once it has no leases. A run that looked the
// network up just before must not make its bridge (or DNS process) after that: it takes its lease
// first, and a removed network refuses it.
TEST_F(NetworkTest, RunThatLosesTheRaceWithNetworkRmMakesNoBridge) {
  std::string net = make_network("race");
  std::string bridge = bridges_.back();
  std::string dir = root() + "/networks/";
  // Hold the leases lock as `network rm` does while it checks for leases and deletes the files.
  int lock = ::open((dir + net + ".leases.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  auto run = std::async(std::launch::async, [&] {
    return slipway({"run", "--rm", "--net", net, "busybox", "true"});
  });
  // The run has looked the network up and waits for the lock well before this.
  EXPECT_EQ(run.wait_for(std::chrono::milliseconds(700)), std::future_status::timeout);
  EXPECT_EQ(run_command({"ip", "-o", "link", "show"}).out.find(" " + bridge + ":"),
            std::string::npos)
      << "bridge made before the address was leased";
  // What rm does next under the lock (the bridge does not exist yet, so there is none to delete).
  ASSERT_EQ(::unlink((dir + net + ".json").c_str()), 0);
  ASSERT_EQ(::unlink((dir + net + ".leases.lock").c_str()), 0);
  ::close(lock);
  networks_.pop_back();
  auto r = run.get();
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("network " + net + " does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(run_command({"ip", "-o", "link", "show"}).out.find(" " + bridge + ":"),
            std::string::npos);
  EXPECT_EQ(processes_containing("dns-serve " + net), std::vector<int>{});
  std::vector<std::string> files;
  for (const auto& f : fs::list_dir(dir).value_or(std::vector<std::string>{}))
    if (f.starts_with(net + ".")) files.push_back(f);
  EXPECT_EQ(files, std::vector<std::string>{});
}

}  // namespace
}  // namespace slipway::testing
