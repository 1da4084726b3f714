// slipway-runc under Podman 4.3 (`podman --runtime`), through conmon: run, exec with and without a
// terminal, stop. Podman's storage and run root live in the test's directory; the runtime keeps its
// default root (/run/slipway-runc), as Podman 4.3 does not pass --runtime-flag on to its cleanup
// `delete`, and the test checks that none of its containers is left there.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <set>

#include "base/fs.h"
#include "tests/support/terminal_session.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

constexpr char kImage[] = "localhost/busybox:latest";

class PodmanTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    dir_ = std::make_unique<TempDir>("slipway-podman");
    load_busybox();
    std::string archive = dir_->path() + "/busybox.tar";
    auto saved = slipway({"image", "save", "busybox", "oci-archive:" + archive});
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    auto pulled = podman({"pull", "oci-archive:" + archive});
    ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  }
  void TearDown() override {
    if (dir_) {
      (void)podman({"rm", "-af", "-t", "0"});
      for (const auto& id : ids_) {
        EXPECT_FALSE(fs::exists("/run/slipway-runc/" + id)) << "container " << id << " left in the runtime root";
        EXPECT_TRUE(cgroups_containing(id).empty()) << "container " << id << " left its cgroup";
      }
      // Podman's own parent cgroups (libpod_parent and its conmon/), once empty: another test's
      // Podman may still use them, and then they are not removed.
      remove_empty_cgroups("/libpod_parent");
      // containers/storage keeps its overlay home mounted on itself.
      for (const auto& m : mounts_containing(dir_->path())) ::umount2(m.c_str(), MNT_DETACH);
      dir_.reset();
    }
    RootTest::TearDown();
  }
  std::vector<std::string> podman_argv(const std::vector<std::string>& args) {
    const std::string& d = dir_->path();
    std::vector<std::string> argv{"podman", "--root", d + "/storage", "--runroot", d + "/run", "--tmpdir", d + "/tmp",
                                  "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                                  "--events-backend", "file", "--runtime", slipway_binary() + "-runc"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  CommandResult podman(const std::vector<std::string>& args) {
    auto r = run_command(podman_argv(args));
    for (const auto& id : split_lines(run_command(podman_argv({"ps", "-aq", "--no-trunc"})).out)) ids_.insert(id);
    return r;
  }

  std::unique_ptr<TempDir> dir_;
  std::set<std::string> ids_;  // every container it had
};

TEST_F(PodmanTest, RunRmGivesTheOutputAndTheExitCode) {
  auto r = podman({"run", "--rm", "--network", "none", kImage, "sh", "-c", "echo hello from $(cat /proc/1/comm); exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "hello from sh\n");
  EXPECT_EQ(podman({"ps", "-aq"}).out, "") << "--rm removed it";
}

TEST_F(PodmanTest, ADetachedContainerTakesExecsAndStops) {
  auto started = podman({"run", "-d", "--name", "web", "--network", "none", kImage, "sh", "-c",
                         "trap 'exit 7' TERM; while true; do sleep 0.1; done"});
  ASSERT_EQ(started.exit_code, 0) << started.err;

  auto exec = podman({"exec", "web", "sh", "-c", "echo in $(cat /proc/1/comm); exit 4"});
  EXPECT_EQ(exec.exit_code, 4) << exec.err;
  EXPECT_EQ(exec.out, "in sh\n");

  TerminalSession session;
  auto tty = run_in_terminal(podman_argv({"exec", "-t", "web", "sh", "-c", "tty; test -t 0 && echo stdin-is-a-tty; exit 5"}),
                             session);
  EXPECT_EQ(tty.exit_code, 5) << tty.out;
  EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("stdin-is-a-tty"), std::string::npos) << tty.out;

  auto stopped = podman({"stop", "-t", "5", "web"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(podman({"inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "web"}).out, "exited 7\n");
  EXPECT_EQ(podman({"rm", "web"}).exit_code, 0);
}

TEST_F(PodmanTest, RunWithATerminal) {
  TerminalSession session;
  auto r = run_in_terminal(podman_argv({"run", "--rm", "-t", "--network", "none", kImage, "sh", "-c", "tty; exit 6"}),
                           session);
  EXPECT_EQ(r.exit_code, 6) << r.out;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace slipway::testing
