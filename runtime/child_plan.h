// Everything the post-clone child needs, laid out before clone() so the child only reads it:
// after clone() the child may run async-signal-safe code only (no allocation, no exceptions, no logs).
#pragma once

#include <sys/mount.h>
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "runtime/capabilities.h"
#include "runtime/console.h"
#include "runtime/mount_plan.h"
#include "runtime/seccomp_filter.h"

namespace slipway::runtime {

// Containment steps, in the order the child runs them; reported back with the errno on failure.
enum class ChildStep : int32_t {
  kJoinCgroup = 1,
  kJoinNetwork,
  kLoopback,
  kMountPropagation,
  kMountWritableLayer,
  kMountRootfs,
  kOpenRootfs,
  kMountInRootfs,
  kPivotRoot,
  kMountAfterPivot,
  kReadOnlyRoot,
  kHostname,
  kWaitForParent,
  kCgroupNamespace,
  kWorkingDir,
  kInitFork,
  kSetGroups,
  kSetGid,
  kSetUid,
  kCapabilities,
  kNoNewPrivileges,
  kCloseFds,
  kSeccomp,
  kExec,
  kStdio,
  kConsole,
  kJoinNamespace,
  kSysctl,
  kDomainname,
  kRlimit,
  kStartFifo,
  kUserNamespace,
};

// Written by the child to the report pipe when a step fails; EOF on the pipe means exec succeeded.
struct ChildReport {
  ChildStep step;
  int32_t error;     // errno
  int32_t op_index;  // index into the mount list for mount steps, else -1
};

struct ChildPlan {
  MountPlan mounts;
  const char* hostname = nullptr;
  const char* cwd = "/";
  char* const* argv = nullptr;  // null-terminated
  char* const* envp = nullptr;  // null-terminated
  const char* path_env = nullptr;  // PATH value used to look up argv[0]
  uid_t uid = 0;
  gid_t gid = 0;
  const gid_t* groups = nullptr;
  size_t group_count = 0;
  CapabilityPlan capabilities;
  const SeccompProgram* seccomp = nullptr;  // null: unconfined
  bool no_new_privileges = true;
  bool init = false;
  const int* cgroup_task_fds = nullptr;  // v1 "tasks" files: the child writes "0" to each
  size_t cgroup_task_fd_count = 0;
  int netns_fd = -1;       // join this network namespace when >= 0
  bool loopback_up = false;  // bring up "lo" of the container's own new network namespace
  int stdio_fds[3] = {-1, -1, -1};  // dup'ed onto 0,1,2 when >= 0 (the relay's pipes)
  int console_socket = -1;  // a terminal instead (console.h): the pty master goes back over this
  ConsoleSize console_size;
  const int* join_fds = nullptr;  // namespaces to enter first (setns), with their CLONE_NEW* types
  const int* join_types = nullptr;
  size_t join_count = 0;
  bool new_cgroup_ns = true;  // unshare the cgroup namespace once in the container's cgroup
  unsigned long root_propagation = MS_REC | MS_PRIVATE;  // of every mount, before the rootfs's
  unsigned long rootfs_propagation = 0;  // of the rootfs mount itself, when set
  struct Sysctl {
    const char* path;  // /proc/sys/net/ipv4/ip_forward: the child's own namespaces' value
    const char* value;
  };
  const Sysctl* sysctls = nullptr;
  size_t sysctl_count = 0;
  const char* domainname = nullptr;
  const ProcessSpec::Rlimit* rlimits = nullptr;
  size_t rlimit_count = 0;
  // The create/start split: the setup is done and reported (report_fd closed), then opening this
  // FIFO for writing waits for `start`. -1: none.
  int start_fifo_dir = -1;
  const char* start_fifo_name = nullptr;
  // A user namespace: the child waits on this for its uid and gid maps, then becomes its root.
  int id_map_fd = -1;
  bool wait_before_pivot = false;  // LaunchOptions::hold_before_pivot
  int preserve_fds = 0;  // fds 3 .. 3+N-1 of the runtime's caller stay open in the container
  int sync_fd = -1;        // read end: parent says "go" once the cgroup (and network) are set
  int report_fd = -1;      // write end: ChildReport on failure, closed by exec on success
};

// Default dispositions and an empty mask, whatever the runtime ignored (SIGPIPE) or blocked (the
// signals it forwards): both are inherited across exec. Async-signal-safe.
void reset_signal_handling() noexcept;

// The body of the cloned child. Never returns.
[[noreturn]] void run_child(const ChildPlan& plan) noexcept;

}  // namespace slipway::runtime
