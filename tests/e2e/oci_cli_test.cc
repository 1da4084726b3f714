// `slipway-runc` as a user of runc would drive it: bundles made by `spec`, the create/start/state/
// kill/delete life cycle, exec, hooks, a terminal over --console-socket, what config.json asks of
// the container (capabilities, rlimits, sysctls, cgroup view, masked paths), and bad input.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

using nlohmann::json;

class OciCliTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    dir_ = std::make_unique<TempDir>("slipway-oci");
    bundle_ = dir_->path() + "/bundle";
    state_root_ = dir_->path() + "/state";
    // A busybox rootfs: the static binary and its applets.
    std::string bin = bundle_ + "/rootfs/bin";
    ASSERT_TRUE(fs::make_dirs(bin).has_value());
    ASSERT_EQ(run_command({"cp", "/bin/busybox", bin + "/busybox"}).exit_code, 0);
    for (const auto& applet : split_lines(run_command({"/bin/busybox", "--list"}).out)) {
      if (applet == "busybox") continue;
      ASSERT_EQ(::symlink("busybox", (bin + "/" + applet).c_str()), 0) << applet;
    }
    auto spec = runc({"spec", "--bundle", bundle_});
    ASSERT_EQ(spec.exit_code, 0) << spec.err;
    config_ = json::parse(fs::read_file(bundle_ + "/config.json").value());
    config_["process"]["terminal"] = false;
    // The cgroup name is the test's own, so the leak check below can look for it.
    id_prefix_ = "slw" + std::to_string(::getpid());
    write_config();
  }
  void TearDown() override {
    if (dir_) {
      auto left = fs::list_dir(state_root_);
      if (left) {
        std::erase(*left, ".cache");
        for (const auto& id : *left) (void)runc({"delete", "--force", id});
        EXPECT_TRUE(left->empty()) << "left in the runtime root: " << left->front();
      }
      // The containers' own cgroups are gone; their parent (the test's cgroupsPath) is not theirs.
      for (const auto& dir : cgroups_containing(id_prefix_))
        EXPECT_TRUE(dir.ends_with("/" + id_prefix_)) << "a container's cgroup is left: " << dir;
      remove_empty_cgroups(id_prefix_);
      EXPECT_TRUE(mounts_containing(dir_->path()).empty()) << "a mount is left";
    }
    dir_.reset();
    RootTest::TearDown();
  }
  void write_config() { ASSERT_TRUE(fs::write_file(bundle_ + "/config.json", config_.dump(1)).has_value()); }
  void command(std::vector<std::string> args) {
    config_["process"]["args"] = args;
    write_config();
  }
  CommandResult runc(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv{slipway_binary() + "-runc", "--root", state_root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input);
  }
  // For create and run --detach: the container keeps the stdio it is given, as under runc, so it
  // gets files here rather than the pipes run_command reads to their end.
  CommandResult runc_detached(std::vector<std::string> args) {
    std::vector<std::string> argv{"sh", "-c", "exec \"$0\" \"$@\" </dev/null >\"$OUT\" 2>\"$ERR\"",
                                  slipway_binary() + "-runc", "--root", state_root_};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out = dir_->path() + "/stdout", err = dir_->path() + "/stderr";
    CommandResult r = run_command(argv, "", {"OUT=" + out, "ERR=" + err});
    r.out = fs::read_file(out).value_or("");
    r.err = fs::read_file(err).value_or("");
    return r;
  }
  std::string id(const std::string& name) { return id_prefix_ + "-" + name; }
  json state(const std::string& name) {
    auto r = runc({"state", id(name)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json{};
  }
  CommandResult run(const std::string& name) { return runc({"run", "--bundle", bundle_, id(name)}); }

  std::unique_ptr<TempDir> dir_;
  std::string bundle_, state_root_, id_prefix_;
  json config_;
};

TEST_F(OciCliTest, CreateStartStateKillDelete) {
  config_["root"]["readonly"] = false;
  command({"sh", "-c", "echo started > /marker; exec sleep 300"});
  std::string pid_file = dir_->path() + "/pid";
  auto created = runc_detached({"create", "--bundle", bundle_, "--pid-file", pid_file, id("a")});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json s = state("a");
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["id"], id("a"));
  EXPECT_EQ(s["bundle"], bundle_);
  EXPECT_EQ(std::to_string(s["pid"].get<int>()), fs::read_file(pid_file).value_or(""));
  EXPECT_EQ(runc({"list", "-q"}).out, id("a") + "\n");
  auto early = runc({"exec", id("a"), "cat", "/marker"});
  EXPECT_NE(early.exit_code, 0) << "the command has not run yet";

  ASSERT_EQ(runc({"start", id("a")}).exit_code, 0);
  EXPECT_EQ(state("a")["status"], "running");
  std::string marker;
  for (int i = 0; i < 100 && marker.empty(); ++i) {
    marker = runc({"exec", id("a"), "cat", "/marker"}).out;
    if (marker.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(marker, "started\n");
  auto again = runc({"start", id("a")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "slipway: error: container " + id("a") + " is running: only a created container can be started\n");
  auto busy = runc({"delete", id("a")});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("is running: stop it first or use delete --force"), std::string::npos) << busy.err;
  auto ps = runc({"ps", "--format", "json", id("a")});
  EXPECT_EQ(json::parse(ps.out), json::array({s["pid"]}));

  ASSERT_EQ(runc({"pause", id("a")}).exit_code, 0);
  EXPECT_EQ(state("a")["status"], "paused");
  ASSERT_EQ(runc({"resume", id("a")}).exit_code, 0);
  ASSERT_EQ(runc({"kill", id("a"), "KILL"}).exit_code, 0);
  for (int i = 0; i < 100 && state("a")["status"] != "stopped"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(state("a")["status"], "stopped");
  // The words containerd's shim looks for.
  EXPECT_EQ(runc({"kill", id("a")}).err, "slipway: error: cannot signal container " + id("a") + ": container not running\n");
  ASSERT_EQ(runc({"delete", id("a")}).exit_code, 0);
  EXPECT_EQ(runc({"state", id("a")}).err, "slipway: error: container " + id("a") + " does not exist\n");
  EXPECT_EQ(runc({"delete", "--force", id("a")}).exit_code, 0) << "as runc: a forced delete of nothing succeeds";
  // A forced delete never takes a path for an ID.
  ASSERT_TRUE(fs::make_dirs(dir_->path() + "/victim").has_value());
  for (std::string bad : {"../victim", "..", "", "."}) {
    auto r = runc({"delete", "--force", bad});
    EXPECT_EQ(r.exit_code, 1) << bad;
  }
  EXPECT_TRUE(fs::is_dir(dir_->path() + "/victim"));
  EXPECT_TRUE(fs::is_dir(state_root_));
}

TEST_F(OciCliTest, ACreatedContainerIsDeletedOnlyWithForceOrOnceKilled) {
  command({"sleep", "300"});
  ASSERT_EQ(runc_detached({"create", "--bundle", bundle_, id("c")}).exit_code, 0);
  EXPECT_EQ(state("c")["status"], "created");
  auto refused = runc({"delete", id("c")});  // the spec's rule (runc deletes it anyway)
  EXPECT_EQ(refused.err, "slipway: error: container " + id("c") + " is created: stop it first or use delete --force\n");
  ASSERT_EQ(runc({"kill", id("c"), "KILL"}).exit_code, 0);
  for (int i = 0; i < 100 && state("c")["status"] != "stopped"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto deleted = runc({"delete", id("c")});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(runc({"list", "-q"}).out, "");
}

TEST_F(OciCliTest, RunPassesStdioThroughAndReturnsTheExitCode) {
  command({"sh", "-c", "read line; echo got $line; echo to stderr >&2; exit 9"});
  auto r = runc({"run", "--bundle", bundle_, id("b")}, "hello\n");
  EXPECT_EQ(r.exit_code, 9);
  EXPECT_EQ(r.out, "got hello\n");
  EXPECT_EQ(r.err, "to stderr\n");
  EXPECT_EQ(runc({"list", "-q"}).out, "") << "run deletes it after";
}

TEST_F(OciCliTest, TheConfigReachesTheContainer) {
  config_["hostname"] = "oci-host";
  config_["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
  config_["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"}},
                                        {"effective", {"CAP_KILL"}},
                                        {"permitted", {"CAP_KILL", "CAP_CHOWN"}},
                                        {"inheritable", {"CAP_KILL", "CAP_CHOWN"}},
                                        {"ambient", {"CAP_KILL"}}};
  config_["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
  config_["process"]["oomScoreAdj"] = 321;
  config_["process"]["env"] = {"PATH=/bin", "GREETING=hi there"};
  config_["process"]["cwd"] = "/work/dir";
  config_["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  config_["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}, {"pids", {{"limit", 50}}}};
  config_["linux"]["cgroupsPath"] = "/" + id_prefix_ + "/c";
  config_["mounts"].push_back({{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
                               {"options", {"nosuid", "noexec", "nodev", "ro"}}});
  command({"sh", "-c",
           "hostname; id -u; id -G; grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; ulimit -Sn; ulimit -Hn; "
           "cat /proc/self/oom_score_adj; echo $GREETING; pwd; cat /proc/sys/net/ipv4/ip_forward; "
           "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
           "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; "
           "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null || echo proc-sys-read-only"});
  auto r = run("c");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = split_lines(r.out);
  std::vector<std::string> want = {"oci-host",
                                   "1000",
                                   "1000 10 20",
                                   // Across exec a non-root process keeps only its ambient set (KILL, bit 5).
                                   "CapPrm:\t0000000000000020",
                                   "CapEff:\t0000000000000020",
                                   "CapBnd:\t0000000000002021",  // + NET_RAW (13)
                                   "CapAmb:\t0000000000000020",
                                   "123",
                                   "456",
                                   "321",
                                   "hi there",
                                   "/work/dir",
                                   "1",
                                   "67108864",
                                   "50",
                                   "0",  // masked: /dev/null over a file...
                                   "0",  // ...an empty tmpfs over a directory
                                   "proc-sys-read-only"};
  EXPECT_EQ(lines, want) << r.err;
}

TEST_F(OciCliTest, ExecRunsInTheContainerWithAProcessFileOrArguments) {
  command({"sleep", "300"});
  ASSERT_EQ(runc_detached({"run", "--detach", "--bundle", bundle_, id("d")}).exit_code, 0);
  EXPECT_EQ(state("d")["status"], "running");
  auto r = runc({"exec", "--env", "X=1", id("d"), "sh", "-c", "echo $X $(cat /proc/1/comm); exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, "1 sleep\n");
  json process = {{"args", {"sh", "-c", "id -u; echo $Y"}}, {"env", {"PATH=/bin", "Y=from-file"}}, {"cwd", "/"},
                  {"user", {{"uid", 7}, {"gid", 7}}}};
  std::string file = dir_->path() + "/process.json";
  ASSERT_TRUE(fs::write_file(file, process.dump()).has_value());
  r = runc({"exec", "--process", file, id("d")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "7\nfrom-file\n");
  auto missing = runc({"exec", id("d"), "no-such-command"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "slipway: error: exec no-such-command: executable file not found in $PATH\n");
  EXPECT_EQ(runc({"delete", "--force", id("d")}).exit_code, 0);
}

TEST_F(OciCliTest, UpdateChangesTheLimitsAndEventsReportUsage) {
  config_["linux"]["cgroupsPath"] = "/" + id_prefix_ + "/u";
  config_["linux"]["resources"] = {{"memory", {{"limit", 67108864}}}};
  command({"sleep", "300"});
  ASSERT_EQ(runc_detached({"run", "--detach", "--bundle", bundle_, id("u")}).exit_code, 0);
  auto stats = runc({"events", "--stats", id("u")});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  json event = json::parse(stats.out);
  EXPECT_EQ(event["type"], "stats");
  EXPECT_EQ(event["id"], id("u"));
  EXPECT_EQ(event["data"]["memory"]["usage"]["limit"], 67108864);
  EXPECT_EQ(event["data"]["pids"]["current"], 1);

  auto updated = runc({"update", "--resources", "-", id("u")},
                      R"({"memory": {"limit": 33554432}, "pids": {"limit": 20}, "cpu": {"quota": 20000, "period": 100000}})");
  ASSERT_EQ(updated.exit_code, 0) << updated.err;
  event = json::parse(runc({"events", "--stats", id("u")}).out);
  EXPECT_EQ(event["data"]["memory"]["usage"]["limit"], 33554432);
  std::string pids_max, quota;
  for (const auto& dir : cgroups_containing(id_prefix_ + "/u")) {
    if (auto t = fs::read_file(dir + "/pids.max")) pids_max = *t;
    for (const char* f : {"/cpu.cfs_quota_us", "/cpu.max"})
      if (auto t = fs::read_file(dir + f)) quota = *t;
  }
  EXPECT_EQ(pids_max, "20\n");
  EXPECT_TRUE(quota == "20000\n" || quota == "20000 100000\n") << quota;

  EXPECT_EQ(runc({"update", "--resources", "-", id("u")}, R"({"memory": {"limit": "lots"}})").err,
            "slipway: error: resources.memory.limit: must be an integer\n");
  ASSERT_EQ(runc({"delete", "--force", id("u")}).exit_code, 0);
  EXPECT_EQ(runc({"events", "--stats", id("u")}).err, "slipway: error: container " + id("u") + " does not exist\n");
}

TEST_F(OciCliTest, HooksGetTheStateAndAFailingOneUndoesTheCreate) {
  std::string seen = dir_->path() + "/seen";
  config_["hooks"] = {
      // It also records whether the container's root is still the host's (before the pivot): the
      // bundle is then visible through /proc/PID/root.
      {"createRuntime",
       {{{"path", "/bin/sh"},
         {"args", {"sh", "-c", "cat > " + seen + ".create; pid=$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' " + seen +
                                   ".create); test -d /proc/$pid/root" + bundle_ + "/rootfs && echo before-pivot > " +
                                   seen + ".root"}}}}},
      {"poststart", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "cat > " + seen + ".poststart"}}}}},
      {"poststop", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "cat > " + seen + ".poststop"}}}}}};
  command({"true"});
  ASSERT_EQ(run("h").exit_code, 0);
  json created = json::parse(fs::read_file(seen + ".create").value_or("{}"));
  EXPECT_EQ(created["status"], "created");
  EXPECT_EQ(fs::read_file(seen + ".root").value_or(""), "before-pivot\n");
  EXPECT_EQ(created["id"], id("h"));
  EXPECT_GT(created["pid"].get<int>(), 0);
  EXPECT_EQ(json::parse(fs::read_file(seen + ".poststart").value_or("{}"))["status"], "running");
  EXPECT_EQ(json::parse(fs::read_file(seen + ".poststop").value_or("{}"))["status"], "stopped");

  config_["hooks"] = {{"createRuntime", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo no network for you; exit 3"}}}}}};
  write_config();
  auto failed = runc_detached({"create", "--bundle", bundle_, id("h2")});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_EQ(failed.err, "slipway: error: createRuntime hook /bin/sh: exited with code 3: no network for you\n");
  EXPECT_EQ(runc({"list", "-q"}).out, "") << "nothing reserved by a failed create";

  config_["hooks"] = {{"prestart", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
  write_config();
  auto slow = runc_detached({"create", "--bundle", bundle_, id("h3")});
  EXPECT_EQ(slow.err, "slipway: error: prestart hook /bin/sleep: did not finish within 1 s\n");
}

TEST_F(OciCliTest, ATerminalGoesToTheConsoleSocket) {
  config_["process"]["terminal"] = true;
  command({"sh", "-c", "tty; echo cols $(stty size)"});
  std::string path = dir_->path() + "/console.sock";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  std::string output;
  // Stops waiting for a connection when the create below fails.
  auto stop = [&] { ::shutdown(listener.get(), SHUT_RDWR); };
  std::thread receiver([&] {
    UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    char byte;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(conn.get(), &msg, 0) <= 0) return;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return;
    int master;
    std::memcpy(&master, CMSG_DATA(c), sizeof master);
    UniqueFd m(master);
    char buf[256];
    ssize_t n;
    while ((n = ::read(m.get(), buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  });
  auto created = runc_detached({"create", "--bundle", bundle_, "--console-socket", path, id("t")});
  if (created.exit_code != 0) stop();
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(runc({"start", id("t")}).exit_code, created.exit_code == 0 ? 0 : 1);
  receiver.join();
  EXPECT_NE(output.find("/dev/pts/0"), std::string::npos) << output;
  EXPECT_EQ(runc({"delete", "--force", id("t")}).exit_code, 0);

  auto without = runc({"create", "--bundle", bundle_, id("t2")});
  EXPECT_EQ(without.err,
            "slipway: error: process.terminal is true: --console-socket is required to receive the terminal\n");
}

TEST_F(OciCliTest, BadInputIsOneLineAndLeavesNothing) {
  auto bad_id = runc({"create", "--bundle", bundle_, "../x"});
  EXPECT_EQ(bad_id.err, "slipway: error: invalid container ID \"../x\": use letters, digits, '_', '+', '-' and '.'\n");

  config_["linux"]["namespaces"].push_back({{"type", "nets"}});
  write_config();
  auto bad_ns = runc({"create", "--bundle", bundle_, id("x")});
  EXPECT_EQ(bad_ns.exit_code, 1);
  EXPECT_EQ(bad_ns.err, "slipway: error: config.json: linux.namespaces[6].type: unknown namespace type \"nets\"\n");
  config_["linux"]["namespaces"].erase(6);

  // A symlink in the image that leads out of the rootfs, under a mount's destination.
  ASSERT_EQ(::symlink("../../../../../../etc", (bundle_ + "/rootfs/evil").c_str()), 0);
  config_["mounts"].push_back({{"destination", "/evil/passwd"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  write_config();
  auto escape = runc({"create", "--bundle", bundle_, id("x")});
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_EQ(escape.err,
            "slipway: error: mounts[7].destination /evil/passwd: the symlink /evil leads out of the rootfs\n");

  config_["mounts"].erase(7);
  config_["process"]["args"] = {"no-such-command"};
  write_config();
  auto missing = runc({"create", "--bundle", bundle_, id("x")});
  EXPECT_EQ(missing.err, "slipway: error: exec no-such-command: executable file not found in $PATH\n");

  auto no_bundle = runc({"create", "--bundle", dir_->path() + "/nothing", id("x")});
  EXPECT_NE(no_bundle.err.find("nothing/config.json: No such file or directory"), std::string::npos) << no_bundle.err;
  EXPECT_EQ(runc({"--systemd-cgroup", "list"}).err,
            "slipway: error: --systemd-cgroup: slipway manages cgroupfs directly and has no systemd driver; run "
            "without it\n");
  EXPECT_EQ(runc({"kill", id("x"), "SIGNOPE"}).err, "slipway: error: unknown signal \"SIGNOPE\"\n");
  // Which fd is the first closed one depends on what the test runner passed down.
  auto closed = runc({"create", "--preserve-fds", "1000", "--bundle", bundle_, id("x")}).err;
  EXPECT_TRUE(closed.starts_with("slipway: error: --preserve-fds 1000: fd ") && closed.ends_with(" is not open\n"))
      << closed;
  EXPECT_EQ(runc({"list", "-q"}).out, "");
}

TEST_F(OciCliTest, AFailureAfterCreateIsStartsError) {
  // The kernel refuses an effective capability that is not permitted; that step comes after the
  // start FIFO, so `start` reports it.
  config_["process"]["capabilities"] = {{"bounding", {"CAP_KILL"}}, {"effective", {"CAP_KILL"}}, {"permitted", json::array()}};
  command({"true"});
  ASSERT_EQ(runc_detached({"create", "--bundle", bundle_, id("late")}).exit_code, 0);
  auto started = runc({"start", id("late")});
  EXPECT_EQ(started.exit_code, 1);
  EXPECT_EQ(started.err,
            "slipway: error: start container " + id("late") + ": set capabilities: Operation not permitted\n");
  EXPECT_EQ(runc({"delete", "--force", id("late")}).exit_code, 0);
}

TEST_F(OciCliTest, JsonLogLinesGoToTheLogFile) {
  std::string log = dir_->path() + "/log.json";
  auto r = runc({"--log", log, "--log-format", "json", "state", id("none")});
  EXPECT_EQ(r.exit_code, 1);
  json line = json::parse(fs::read_file(log).value_or("{}"));
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "container " + id("none") + " does not exist");
  EXPECT_TRUE(line.contains("time"));
}

}  // namespace
}  // namespace slipway::testing
