// slipway-runc under containerd 1.6: `ctr run --runc-binary` drives create, start, state, kill,
// delete and exec through containerd's runc shim, against a containerd of the test's own.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

#include "base/fs.h"
#include "tests/support/containerd_peer.h"
#include "tests/support/terminal_session.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

constexpr char kImage[] = "busybox:latest";  // the name slipway saved it under

std::string slipway_runc() { return slipway_binary() + "-runc"; }

class ContainerdTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    peer_ = std::make_unique<ContainerdPeer>();
    ns_ = peer_->ns();
    ASSERT_EQ(peer_->failure(), "");
    // The image as slipway saves it, archived as an oci-archive, imported and unpacked by containerd.
    load_busybox();
    std::string archive = peer_->dir() + "/busybox.tar";
    auto saved = slipway({"image", "save", "busybox", "oci-archive:" + archive});
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    auto imported = peer_->ctr({"images", "import", archive});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }
  void TearDown() override {
    if (peer_) {
      // Nothing of slipway's is left: no container state in the runtime root of the namespace.
      auto left = fs::list_dir(peer_->runc_root() + "/" + peer_->ns());
      if (left) {
        std::erase(*left, ".cache");
        EXPECT_TRUE(left->empty()) << "left in the runtime root: " << left->front();
      }
    }
    peer_.reset();
    // The namespace's parent cgroup is containerd's (its runtime leaves it, as runc does).
    if (ns_) remove_empty_cgroups(*ns_);
    RootTest::TearDown();
  }
  // `ctr run` with slipway as the runtime.
  std::vector<std::string> run_args(std::vector<std::string> flags, const std::string& id,
                                    std::vector<std::string> command) {
    std::vector<std::string> args{"run", "--runc-binary", slipway_runc(), "--runc-root", peer_->runc_root()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(kImage);
    args.push_back(id);
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }
  CommandResult ctr(const std::vector<std::string>& args) { return peer_->ctr(args); }
  // Waits until `ctr task ls` shows the task in `status`.
  bool await_task(const std::string& id, const std::string& status) {
    for (int i = 0; i < 100; ++i) {
      auto ls = ctr({"task", "ls"});
      for (const auto& line : split_lines(ls.out))
        if (line.starts_with(id + " ") && line.find(status) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::unique_ptr<ContainerdPeer> peer_;
  std::optional<std::string> ns_;
};

TEST_F(ContainerdTest, RunRmGivesTheOutputAndTheExitCode) {
  auto r = ctr(run_args({"--rm"}, "c1", {"sh", "-c", "echo hello from $(cat /proc/1/comm); exit 3"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "hello from sh\n");
  EXPECT_EQ(ctr({"containers", "ls", "-q"}).out, "") << "--rm removed it";
}

TEST_F(ContainerdTest, ADetachedTaskTakesExecsAndSignals) {
  ASSERT_EQ(ctr(run_args({"-d"}, "c2", {"sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"})).exit_code, 0);
  ASSERT_TRUE(await_task("c2", "RUNNING"));

  auto exec = ctr({"task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo in $(cat /proc/1/comm); exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.err;
  EXPECT_EQ(exec.out, "in sh\n");

  // With a terminal: ctr wants one of its own, so it runs on a pseudo-terminal.
  TerminalSession session;
  auto tty = run_in_terminal(peer_->ctr_argv({"task", "exec", "-t", "--exec-id", "e2", "c2", "sh", "-c",
                                             "tty; test -t 0 && echo stdin-is-a-tty; exit 5"}),
                             session);
  EXPECT_EQ(tty.exit_code, 5) << tty.out;
  EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("stdin-is-a-tty"), std::string::npos) << tty.out;

  auto ps = ctr({"task", "ps", "c2"});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_GE(split_lines(ps.out).size(), 2u) << ps.out;

  ASSERT_EQ(ctr({"task", "kill", "c2"}).exit_code, 0);  // SIGTERM: the trap exits 7
  ASSERT_TRUE(await_task("c2", "STOPPED"));
  auto deleted = ctr({"task", "delete", "c2"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_NE(deleted.err.find("exit code 7"), std::string::npos) << "the trap's exit status: " << deleted.err;
  EXPECT_EQ(ctr({"containers", "delete", "c2"}).exit_code, 0);
}

TEST_F(ContainerdTest, PauseAndResumeFreezeTheTask) {
  ASSERT_EQ(ctr(run_args({"-d"}, "c3", {"sleep", "300"})).exit_code, 0);
  ASSERT_TRUE(await_task("c3", "RUNNING"));
  ASSERT_EQ(ctr({"task", "pause", "c3"}).exit_code, 0);
  EXPECT_TRUE(await_task("c3", "PAUSED"));
  ASSERT_EQ(ctr({"task", "resume", "c3"}).exit_code, 0);
  EXPECT_TRUE(await_task("c3", "RUNNING"));
  auto killed = ctr({"task", "kill", "-s", "SIGKILL", "c3"});
  EXPECT_EQ(killed.exit_code, 0) << killed.err;
  ASSERT_TRUE(await_task("c3", "STOPPED"));
  EXPECT_EQ(ctr({"task", "delete", "c3"}).exit_code, 0);
  EXPECT_EQ(ctr({"containers", "delete", "c3"}).exit_code, 0);
}

TEST_F(ContainerdTest, ResourceLimitsLandInTheContainersCgroup) {
  ASSERT_EQ(ctr(run_args({"-d", "--memory-limit", "33554432", "--cpus", "0.5"}, "c4", {"sleep", "300"})).exit_code, 0);
  ASSERT_TRUE(await_task("c4", "RUNNING"));
  // containerd names the cgroup /<namespace>/<id>: v1 has it in each hierarchy, v2 once.
  std::string memory, quota;
  for (const auto& dir : cgroups_containing(peer_->ns() + "/c4")) {
    for (const char* file : {"/memory.limit_in_bytes", "/memory.max"})
      if (auto text = fs::read_file(dir + file)) memory = *text;
    for (const char* file : {"/cpu.cfs_quota_us", "/cpu.max"})
      if (auto text = fs::read_file(dir + file)) quota = *text;
  }
  EXPECT_EQ(memory, "33554432\n");
  EXPECT_TRUE(quota == "50000\n" || quota == "50000 100000\n") << quota;
  ASSERT_EQ(ctr({"task", "kill", "-s", "SIGKILL", "c4"}).exit_code, 0);
  ASSERT_TRUE(await_task("c4", "STOPPED"));
  auto deleted = ctr({"task", "delete", "c4"});
  EXPECT_NE(deleted.err.find("exit code 137"), std::string::npos) << deleted.err;
  EXPECT_EQ(ctr({"containers", "delete", "c4"}).exit_code, 0);
  EXPECT_TRUE(cgroups_containing(peer_->ns() + "/c4").empty()) << "the task's cgroup went with it";
}

}  // namespace
}  // namespace slipway::testing
