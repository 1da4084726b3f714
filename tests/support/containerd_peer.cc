#include "tests/support/containerd_peer.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

namespace slipway::testing {

ContainerdPeer::ContainerdPeer()
    : dir_(std::make_unique<TempDir>("slipway-containerd")), namespace_("slipway-e2e-" + std::to_string(::getpid())) {
  const std::string& d = dir_->path();
  socket_ = d + "/containerd.sock";
  runc_root_ = d + "/runc-root";
  {
    std::ofstream config(d + "/config.toml");
    // No CRI (it wants CNI), no snapshotters this host cannot run; nothing listens but the socket.
    config << "version = 2\n"
           << "root = \"" << d << "/root\"\nstate = \"" << d << "/state\"\n"
           << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.btrfs\", "
              "\"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\", "
              "\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.internal.v1.opt\"]\n"
           << "[grpc]\n  address = \"" << socket_ << "\"\n"
           << "[ttrpc]\n  address = \"" << socket_ << ".ttrpc\"\n"
           << "[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n";
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    FILE* log = std::fopen((d + "/containerd.log").c_str(), "w");
    if (log) {
      ::dup2(fileno(log), 1);
      ::dup2(fileno(log), 2);
    }
    ::setpgid(0, 0);
    ::execlp("containerd", "containerd", "--config", (d + "/config.toml").c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    if (ctr({"version"}).exit_code == 0) return;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      failure_ = "containerd exited at start; see " + d + "/containerd.log";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  failure_ = "containerd did not answer on " + socket_ + " within 10 s";
}

ContainerdPeer::~ContainerdPeer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 100 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  // Shims of tasks a failed test left behind, found by this containerd's socket in their argv.
  for (int pid : processes_containing(socket_)) ::kill(pid, SIGKILL);
  // Snapshots mounted under the root (a test that failed before `ctr run --rm` cleaned up).
  for (const auto& m : mounts_containing(dir_->path())) ::umount2(m.c_str(), MNT_DETACH);
}

std::vector<std::string> ContainerdPeer::ctr_argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"ctr", "-a", socket_, "-n", namespace_};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult ContainerdPeer::ctr(const std::vector<std::string>& args, const std::string& input) const {
  return run_command(ctr_argv(args), input);
}

}  // namespace slipway::testing
