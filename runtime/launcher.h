// Starts one container from a ContainerSpec: parent-side setup (state dir, cgroup, seccomp
// compile), clone3 into new namespaces, then the child's containment steps (child.cc).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/cgroups.h"
#include "runtime/container_spec.h"
#include "runtime/stdio_relay.h"

namespace slipway::runtime {

// Options for one start. before_exec runs in the parent after the child is in its cgroup and
// before the child is let go to exec: networking (a veth into the child's netns) plugs in here.
struct LaunchOptions {
  StdioTargets stdio;  // the container gets pipes; the runtime copies to and from these
  std::function<Status(pid_t pid)> before_exec;
  int preserve_fds = 0;  // OCI --preserve-fds: this process's fds 3 .. 3+N-1 go to the container
  // before_exec runs once the child has made its mounts and waits just before pivot_root (the
  // OCI prestart, createRuntime and createContainer hooks' moment), not while it makes them.
  bool hold_before_pivot = false;
};

// A started container: PID 1 (in the host's pid namespace), its pidfd and its cgroup.
struct StartedContainer {
  pid_t pid = -1;
  UniqueFd pidfd;
  Cgroup cgroup;
  std::unique_ptr<StdioRelay> stdio;  // drained by wait_container
};

struct ExitStatus {
  int exit_code = 0;     // the process's exit code, or 128+N when killed by signal N
  int signal = 0;        // N when killed by a signal
  bool oom_killed = false;
  bool timed_out = false;
  bool holder_exited = false;  // stopped because the container whose network it shared exited
};

// Runs every parent-side step, clones, waits until the child has exec'd the command or failed.
// A failure leaves nothing behind: the child is reaped and the cgroup removed.
[[nodiscard]] Result<StartedContainer> start_container(const ContainerSpec& spec,
                                                       const LaunchOptions& options = {});

// After `start` has read the start FIFO's first byte: waits until the container's process execs
// its command (the FIFO closes) or reports a late setup failure through it ("set uid: Operation
// not permitted"), or dies (pidfd).
[[nodiscard]] Status await_exec_after_start(int fifo, int pidfd);

// What a foreground run passes on to the container, as docker run's --sig-proxy does.
inline constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

struct WaitOptions {
  std::optional<std::chrono::milliseconds> timeout;  // kill the whole container after this
  bool forward_signals = false;  // SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 go to PID 1
  // A pidfd of the process whose network namespace this container joined (--net container:X):
  // when it exits the container is stopped (SIGTERM, SIGKILL after holder_grace).
  int holder_pidfd = -1;
  std::chrono::milliseconds holder_grace{2000};
};

// Waits for PID 1 to exit, then kills whatever is left in the cgroup and removes it.
[[nodiscard]] Result<ExitStatus> wait_container(StartedContainer& c, const WaitOptions& options);

// Human words for an exit: "exited with code 3", "killed by signal 9 (OOM)", ...
std::string describe_exit(const ExitStatus& s);

}  // namespace slipway::runtime
