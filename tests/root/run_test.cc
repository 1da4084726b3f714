// `slipway run` on a real host: isolation facts asserted with the probe, resources, exits, signals.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "runtime/capabilities.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

// A --rootfs directory with busybox and the probe, built once per test in the test's own root.
class RunTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    rootfs_ = root() + "/rootfs";
    for (auto d : {"bin", "etc", "tmp", "proc", "sys", "dev"}) stdfs::create_directories(rootfs_ + "/" + d);
    stdfs::copy_file("/bin/busybox", rootfs_ + "/bin/busybox");
    for (auto applet : {"sh", "sleep", "cat", "ls", "echo", "dd", "ps", "grep", "true", "seq", "wc", "id", "touch"})
      stdfs::create_symlink("busybox", rootfs_ + "/bin/" + applet);
    stdfs::copy_file(probe_binary(), rootfs_ + "/probe");
    std::ofstream(rootfs_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
    std::ofstream(rootfs_ + "/etc/group") << "root:x:0:\nnogroup:x:65534:\n";
    host_mounts_ = read_mountinfo_targets();
  }

  CommandResult run(std::vector<std::string> flags, std::vector<std::string> cmd, const std::string& input = "") {
    std::vector<std::string> args = {"run", "--rm", "--rootfs", rootfs_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), cmd.begin(), cmd.end());
    return slipway(args, input);
  }

  json facts(std::vector<std::string> flags = {}) {
    auto r = run(flags, {"/probe", "facts"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  static std::vector<std::string> read_mountinfo_targets() { return host_mounts_outside_test_dirs(); }

  void TearDown() override {
    if (!IsSkipped()) {
      EXPECT_EQ(read_mountinfo_targets(), host_mounts_) << "host mount table changed";
      for (const std::string& own : {root(), run_root()})
        EXPECT_TRUE(mounts_containing(own).empty()) << "a mount is left under " << own;
    }
    RootTest::TearDown();
  }

  std::string rootfs_;
  std::vector<std::string> host_mounts_;
};

uint64_t hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

TEST_F(RunTest, ProcessIsPid1WithOwnHostname) {
  json f = facts({"--hostname", "box1"});
  EXPECT_EQ(f["pid"], 1);
  EXPECT_EQ(f["hostname"], "box1");
  EXPECT_EQ(f["uid"], 0);
  EXPECT_EQ(f["cwd"], "/");
}

TEST_F(RunTest, DefaultCapabilitiesSeccompAndNoNewPrivs) {
  json f = facts();
  EXPECT_EQ(hex(f["CapEff"]), runtime::docker_default_capabilities());
  EXPECT_EQ(hex(f["CapBnd"]), runtime::docker_default_capabilities());
  EXPECT_EQ(f["Seccomp"], "2");
  EXPECT_EQ(f["NoNewPrivs"], "1");
  json g = facts({"--cap-drop", "ALL", "--cap-add", "NET_ADMIN"});
  EXPECT_EQ(hex(g["CapEff"]), uint64_t{1} << 12);
}

TEST_F(RunTest, SeccompBlocksUnshare) {
  auto r = run({}, {"/probe", "unshare"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["errno"], EPERM);
  auto u = run({"--seccomp", "unconfined", "--cap-drop", "ALL"}, {"/probe", "unshare"});
  EXPECT_EQ(json::parse(u.out)["errno"], EPERM) << "without CAP_SYS_ADMIN the kernel refuses too";
}

TEST_F(RunTest, KernelFilesMaskedAndProcSysReadOnly) {
  json f = facts();
  std::map<std::string, std::string> opts;
  for (auto& m : f["mounts"]) opts[m["target"]] = m["options"];
  // Masked only where the host kernel has them (this kernel may be built without /proc/kcore).
  for (auto p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"})
    if (stdfs::exists(p)) {
      EXPECT_TRUE(opts.count(p)) << p << " not masked";
    }
  ASSERT_TRUE(opts.count("/proc/sys"));
  EXPECT_TRUE(opts["/proc/sys"].starts_with("ro")) << opts["/proc/sys"];
  EXPECT_TRUE(opts["/sys"].starts_with("ro"));
  EXPECT_TRUE(opts.count("/dev/pts") && opts.count("/dev/shm") && opts.count("/dev/mqueue"));
  auto r = run({}, {"sh", "-c", "cat /proc/keys | wc -c; echo x > /proc/sys/kernel/hostname"});
  EXPECT_EQ(r.out, "0\n");
  EXPECT_NE(r.exit_code, 0) << "/proc/sys must be read-only";
}

TEST_F(RunTest, NoRuntimeFdLeaksIntoContainer) {
  json f = facts();
  // A probe that listed nothing proves nothing: it must at least see its own stdio.
  std::set<int> stdio;
  for (auto& fd : f["fds"]) {
    int n = fd["fd"];
    if (n <= 2) {
      stdio.insert(n);
      continue;
    }
    // The probe's own fds (the fd dir it lists, mountinfo) are under /proc.
    if (fd["target"].get<std::string>().starts_with("/proc/")) continue;
    ADD_FAILURE() << "leaked fd " << n << " -> " << fd["target"];
  }
  EXPECT_EQ(stdio, (std::set<int>{0, 1, 2})) << f["fds"].dump();
}

TEST_F(RunTest, ExitCodesAndSignalsPropagate) {
  EXPECT_EQ(run({}, {"sh", "-c", "exit 3"}).exit_code, 3);
  // PID 1 ignores signals it has no handler for, even SIGKILL from inside: --init makes sh a child.
  EXPECT_EQ(run({"--init"}, {"sh", "-c", "kill -9 $$"}).exit_code, 137);
  EXPECT_EQ(run({"--init"}, {"sh", "-c", "kill -TERM $$"}).exit_code, 143);
  auto missing = run({}, {"no-such-command"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("no-such-command"), std::string::npos) << missing.err;
  // A file that is there but not executable: Docker's 126.
  auto not_executable = run({}, {"/etc/passwd"});
  EXPECT_EQ(not_executable.exit_code, 126) << not_executable.err;
  EXPECT_NE(not_executable.err.find("Permission denied"), std::string::npos) << not_executable.err;
}

TEST_F(RunTest, StdioPassesThrough) {
  auto r = run({"-i"}, {"sh", "-c", "cat; echo err >&2"}, "hello\n");
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST_F(RunTest, EnvWorkdirUserAndVolumes) {
  TempDir vol;
  std::ofstream(vol.path() + "/in.txt") << "from host\n";
  stdfs::permissions(vol.path(), stdfs::perms::owner_all | stdfs::perms::group_read |
                                     stdfs::perms::group_exec | stdfs::perms::others_read |
                                     stdfs::perms::others_exec);
  auto r = run({"-e", "FOO=bar", "-w", "/work/dir", "-u", "nobody", "-v", vol.path() + ":/data:ro"},
               {"sh", "-c", "echo $FOO; pwd; id -u; cat /data/in.txt; touch /data/x 2>/dev/null || echo ro"});
  EXPECT_EQ(r.out, "bar\n/work/dir\n65534\nfrom host\nro\n") << r.err;
}

TEST_F(RunTest, EnvFileAndAddHostAsDocker) {
  TempDir dir;
  std::ofstream(dir.path() + "/ci.env") << "# CI settings\nFOO=from-file\n\nBAR=b=c\r\nFROM_HOST\n";
  ::setenv("FROM_HOST", "host-value", 1);
  auto r = run({"--env-file", dir.path() + "/ci.env", "-e", "BAR=flag", "--add-host", "db.test:10.1.2.3",
                "--add-host", "v6.test=fd00::1"},
               {"sh", "-c", "echo $FOO $BAR $FROM_HOST; grep -E 'db.test|v6.test' /etc/hosts"});
  ::unsetenv("FROM_HOST");
  EXPECT_EQ(r.out, "from-file flag host-value\n10.1.2.3\tdb.test\nfd00::1\tv6.test\n") << r.err;

  std::ofstream(dir.path() + "/bad.env") << "OK=1\nBAD KEY=2\n";
  auto bad = run({"--env-file", dir.path() + "/bad.env"}, {"true"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(bad.err, "slipway: error: --env-file " + dir.path() + "/bad.env:2: variable name \"BAD KEY\" contains whitespace\n");
  auto missing = run({"--env-file", dir.path() + "/none.env"}, {"true"});
  EXPECT_EQ(missing.exit_code, 125);
  EXPECT_NE(missing.err.find("--env-file " + dir.path() + "/none.env"), std::string::npos) << missing.err;
  auto bad_host = run({"--add-host", "db.test:not-an-ip"}, {"true"});
  EXPECT_EQ(bad_host.err, "slipway: error: invalid --add-host \"db.test:not-an-ip\": not-an-ip is not an IP address\n");
}

TEST_F(RunTest, WaitPrintsTheExitCodeOnceTheContainerStops) {
  auto start = slipway({"run", "-d", "--name", "w", "--rootfs", rootfs_, "sh", "-c", "sleep 0.3; exit 7"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  auto wait = slipway({"wait", "w"});
  EXPECT_EQ(wait.exit_code, 0) << wait.err;
  EXPECT_EQ(wait.out, "7\n");
  EXPECT_EQ(slipway({"wait", "w"}).out, "7\n") << "a stopped container answers at once";
  EXPECT_EQ(slipway({"rm", "w"}).exit_code, 0);
  auto gone = slipway({"wait", "w"});
  EXPECT_EQ(gone.exit_code, 125);
}

TEST_F(RunTest, AFileVolumeIsBoundOntoAFile) {
  // The launcher tells the mount plan the source is a file, so the target (absent from the image)
  // is made as a file, not a directory.
  TempDir vol;
  std::ofstream(vol.path() + "/app.conf") << "file from host\n";
  auto r = run({"-v", vol.path() + "/app.conf:/etc/app.conf:ro"},
               {"sh", "-c", "cat /etc/app.conf; test -f /etc/app.conf && echo file"});
  EXPECT_EQ(r.out, "file from host\nfile\n") << r.err;
}

TEST_F(RunTest, ReadOnlyRootfs) {
  auto r = run({"--read-only"}, {"sh", "-c", "touch /x 2>/dev/null && echo rw || echo ro; touch /dev/shm/ok && echo shm"});
  EXPECT_EQ(r.out, "ro\nshm\n") << r.err;
}

TEST_F(RunTest, MemoryHogIsOomKilledAndReported) {
  auto r = run({"--memory", "16m"}, {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_NE(r.err.find("OOM"), std::string::npos) << r.err;
}

TEST_F(RunTest, ForkBombStoppedByPidsLimit) {
  auto r = run({"--pids-limit", "10"}, {"sh", "-c", "for i in $(seq 40); do sleep 2 & done; echo started"});
  // sh hits the limit: fork fails, sh gives up, and the container ends with its sleepers.
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("can't fork"), std::string::npos) << r.err;
}

TEST_F(RunTest, TimeoutKillsTheWholeContainer) {
  auto start = std::chrono::steady_clock::now();
  auto r = run({"--timeout", "0.5"}, {"sh", "-c", "sleep 30 & sleep 30"});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, 137);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(RunTest, InitReapsZombies) {
  // The probe's children exit at once and are re-parented to PID 1, which must reap them.
  auto r = run({"--init"}, {"sh", "-c", "/probe orphan 5 >/dev/null; sleep 0.3; ps -o stat | grep -c Z"});
  EXPECT_EQ(r.out, "0\n") << r.err;
}

TEST_F(RunTest, BadInputsGetClearErrors) {
  auto bad_rootfs = slipway({"run", "--rm", "--rootfs", root() + "/nope", "sh"});
  EXPECT_EQ(bad_rootfs.exit_code, 125);
  EXPECT_NE(bad_rootfs.err.find("nope"), std::string::npos) << bad_rootfs.err;
  auto bad_cap = run({"--cap-add", "BOGUS"}, {"true"});
  EXPECT_EQ(bad_cap.exit_code, 125);
  EXPECT_NE(bad_cap.err.find("BOGUS"), std::string::npos);
  auto bad_mem = run({"--memory", "lots"}, {"true"});
  EXPECT_NE(bad_mem.err.find("lots"), std::string::npos);
  auto bad_seccomp = run({"--seccomp", root() + "/missing.json"}, {"true"});
  EXPECT_EQ(bad_seccomp.exit_code, 125);
  EXPECT_NE(bad_seccomp.err.find("missing.json"), std::string::npos);
  // Nothing of the failed runs is left behind.
  auto ps = slipway({"ps", "-a", "-q"});
  EXPECT_EQ(ps.out, "");
}

TEST_F(RunTest, SymlinkInImageCannotRedirectMountsToHost) {
  // A hostile rootfs points /etc and a volume target at host paths; mounts must land inside.
  TempDir outside_etc, outside_data;
  stdfs::remove_all(rootfs_ + "/etc");
  stdfs::create_symlink(outside_etc.path(), rootfs_ + "/etc");
  stdfs::create_symlink(outside_data.path(), rootfs_ + "/data");
  TempDir vol;
  std::ofstream(vol.path() + "/v") << "vol";
  auto r = run({"-v", vol.path() + ":/data"},
               {"sh", "-c", "cat /etc/hostname >/dev/null && cat /data/v && echo ok"});
  EXPECT_EQ(r.out, "volok\n") << r.err;
  EXPECT_TRUE(stdfs::is_empty(outside_etc.path())) << "something was created through the symlink";
  EXPECT_TRUE(stdfs::is_empty(outside_data.path())) << "the volume was mounted through the symlink";
}

TEST_F(RunTest, MknodOfTheHostDiskCannotBeOpened) {
  // The device of the host's root filesystem, from mountinfo ("MAJOR:MINOR" is field 3).
  std::ifstream mi("/proc/self/mountinfo");
  std::string dev;
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string id, parent, majmin, root, target;
    ls >> id >> parent >> majmin >> root >> target;
    if (target == "/") dev = majmin;
  }
  ASSERT_FALSE(dev.empty());
  std::string major = dev.substr(0, dev.find(':')), minor = dev.substr(dev.find(':') + 1);
  // CAP_MKNOD is in the default set, so the node can be made; opening it must fail.
  auto r = run({}, {"sh", "-c", "mknod /tmp/disk b " + major + " " + minor + " && echo made; "
                                "dd if=/tmp/disk of=/dev/null bs=512 count=1 2>&1 || echo denied"});
  EXPECT_NE(r.out.find("made"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
}

TEST_F(RunTest, PsFiltersAndFormatsAndInspectFormatsAsDockers) {
  ASSERT_EQ(slipway({"run", "-d", "--name", "api", "--rootfs", rootfs_, "sleep", "30"}).exit_code, 0);
  ASSERT_EQ(slipway({"run", "--name", "job", "--rootfs", rootfs_, "sh", "-c", "exit 3"}).exit_code, 3);
  std::string api = slipway({"inspect", "-f", "{{.Id}}", "api"}).out;
  ASSERT_EQ(api.size(), 65u) << api;

  EXPECT_EQ(slipway({"ps", "-q", "--filter", "name=ap"}).out, api.substr(0, 12) + "\n");
  EXPECT_EQ(slipway({"ps", "-q", "--filter", "name=job"}).out, "") << "stopped: only with -a or a status filter";
  EXPECT_EQ(slipway({"ps", "--filter", "status=exited", "--format", "{{.Names}} {{.State}} {{.Status}}"}).out.substr(0, 22),
            "job exited Exited (3) ");
  EXPECT_EQ(slipway({"ps", "-a", "--filter", "name=api", "--filter", "name=job", "--format", "{{.Names}}"}).out,
            "job\napi\n");  // newest first
  EXPECT_EQ(slipway({"ps", "-a", "--filter", "name=api", "--filter", "status=exited", "-q"}).out, "");
  EXPECT_EQ(slipway({"ps", "--format", "table {{.Names}}\t{{.State}}"}).out, "NAMES   STATE\napi     running\n");
  auto json_line = nlohmann::json::parse(slipway({"ps", "--format", "json"}).out);
  EXPECT_EQ(json_line["Names"], "api");
  EXPECT_EQ(json_line["Command"], "\"sleep 30\"");

  EXPECT_EQ(slipway({"inspect", "-f", "{{.State.Running}} {{.State.Status}} {{.Name}}", "api", "job"}).out,
            "true running /api\nfalse exited /job\n");
  EXPECT_EQ(slipway({"inspect", "--format", "{{.State.ExitCode}}", "job"}).out, "3\n");
  EXPECT_EQ(slipway({"inspect", "-f", "{{json .Config.Cmd}}", "job"}).out, "[\"sh\",\"-c\",\"exit 3\"]\n");
  // slipway's own record is still there beside Docker's fields.
  auto doc = nlohmann::json::parse(slipway({"inspect", "job"}).out)[0];
  EXPECT_EQ(doc["state"]["exit_code"], 3);
  EXPECT_EQ(doc["State"]["ExitCode"], 3);

  for (const auto& bad : std::vector<std::vector<std::string>>{
           {"inspect", "-f", "{{.State.Nope}}", "job"},
           {"inspect", "-f", "{{.State", "job"},
           {"ps", "--filter", "color=red"},
           {"ps", "--filter", "status=sleeping"},
           {"ps", "--format", "{{.Nope}}"}}) {
    auto r = slipway(bad);
    EXPECT_EQ(r.exit_code, 125) << bad[1];
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("slipway: error: ")) << r.err;
  }
  EXPECT_NE(slipway({"inspect", "-f", "{{.State.Nope}}", "job"}).err.find("Nope"), std::string::npos);
  EXPECT_NE(slipway({"ps", "--filter", "color=red"}).err.find("unknown filter color"), std::string::npos);
  EXPECT_EQ(slipway({"rm", "-f", "api", "job"}).exit_code, 0);
}

TEST_F(RunTest, DetachedLifecycle) {
  auto start = slipway({"run", "-d", "--name", "web", "--rootfs", rootfs_, "sh", "-c",
                        "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.05; done"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  std::string id = start.out.substr(0, 64);
  auto ps = slipway({"ps"});
  EXPECT_TRUE(ps.out.starts_with("CONTAINER ID   IMAGE")) << ps.out;
  EXPECT_NE(ps.out.find("web"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("   Up "), std::string::npos) << ps.out;
  auto ex = slipway({"exec", "web", "sh", "-c", "echo in-$HOSTNAME; exit 4"});
  EXPECT_EQ(ex.exit_code, 4) << ex.err;
  EXPECT_EQ(ex.out, "in-" + id.substr(0, 12) + "\n");
  // Docker's exec codes: 127 for a missing command, 126 for one that cannot be executed.
  EXPECT_EQ(slipway({"exec", "web", "no-such-command"}).exit_code, 127);
  EXPECT_EQ(slipway({"exec", "web", "/etc/passwd"}).exit_code, 126);
  auto dup = slipway({"run", "-d", "--name", "web", "--rootfs", rootfs_, "true"});
  EXPECT_EQ(dup.exit_code, 125);
  EXPECT_NE(dup.err.find("already in use"), std::string::npos);
  auto rm_running = slipway({"rm", "web"});
  EXPECT_NE(rm_running.exit_code, 0);
  auto stop = slipway({"stop", "-t", "5", "web"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  auto logs = slipway({"logs", "web"});
  EXPECT_EQ(logs.out, "started\nbye\n");
  auto ps_all = slipway({"ps", "-a"});
  EXPECT_NE(ps_all.out.find("Exited (0) "), std::string::npos) << ps_all.out;
  EXPECT_EQ(slipway({"rm", "web"}).exit_code, 0);
  EXPECT_EQ(slipway({"ps", "-a", "-q"}).out, "");
  EXPECT_EQ(cgroups_containing(id), std::vector<std::string>{});
}

TEST_F(RunTest, KillAndForceRemove) {
  auto start = slipway({"run", "-d", "--name", "k", "--rootfs", rootfs_, "sleep", "60"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  std::string id = start.out.substr(0, 64);
  EXPECT_EQ(slipway({"kill", "k"}).exit_code, 0);
  for (int i = 0; i < 100 && slipway({"ps", "-q"}).out != ""; ++i) usleep(20000);
  auto inspect = slipway({"inspect", "k"});
  auto j = json::parse(inspect.out);
  EXPECT_EQ(j[0]["state"]["exit_code"], 137);
  auto again = slipway({"run", "-d", "--name", "k2", "--rootfs", rootfs_, "sleep", "60"});
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(slipway({"rm", "-f", "k2"}).exit_code, 0);
  EXPECT_EQ(slipway({"rm", "k"}).exit_code, 0);
  EXPECT_EQ(cgroups_containing(id), std::vector<std::string>{});
}

TEST_F(RunTest, GcCleansUpAfterKilledRuntime) {
  // Start a foreground run in the background and SIGKILL the runtime while the container runs.
  pid_t pid = fork();
  if (pid == 0) {
    execl(slipway_binary().c_str(), "slipway", "--root", root().c_str(), "--run-root",
          run_root().c_str(), "run", "--name", "victim",
          "--rootfs", rootfs_.c_str(), "sleep", "60", nullptr);
    _exit(127);
  }
  std::string ps;
  for (int i = 0; i < 200 && ps.find("victim") == std::string::npos; ++i) {
    usleep(10000);
    ps = slipway({"ps"}).out;
  }
  ASSERT_NE(ps.find("victim"), std::string::npos);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // PID 1 dies with the runtime (parent-death signal, delivered asynchronously); gc then removes
  // the cgroup and marks it exited. Until it has died, gc rightly leaves it alone.
  auto id = json::parse(slipway({"inspect", "victim"}).out)[0]["id"].get<std::string>();
  for (int i = 0; i < 100; ++i) {
    auto gc = slipway({"gc"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    if (cgroups_containing(id).empty()) break;
    usleep(20000);
  }
  auto all = slipway({"ps", "-a"});
  EXPECT_NE(all.out.find("Exited ("), std::string::npos) << all.out;
  EXPECT_EQ(cgroups_containing(id), std::vector<std::string>{});
  EXPECT_EQ(slipway({"rm", "victim"}).exit_code, 0);
}

}  // namespace
}  // namespace slipway::testing
