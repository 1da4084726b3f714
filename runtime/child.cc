// The post-clone child: one ordered list of containment steps over a precomputed ChildPlan.
// Only raw system calls and stack buffers here; see child_plan.h for why.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/step_clock.h"
#include "runtime/capabilities.h"
#include "runtime/child_plan.h"

namespace slipway::runtime {
namespace {

constexpr size_t kPathMax = 4096;

[[noreturn]] void report_and_exit(const ChildPlan& plan, ChildStep step, int error, int op = -1) {
  ChildReport r{step, error, op};
  (void)!::write(plan.report_fd, &r, sizeof r);
  ::_exit(127);
}

// Writes "/proc/self/fd/<fd>" into buf.
void fd_path(int fd, char* buf) {
  static constexpr char kPrefix[] = "/proc/self/fd/";
  std::memcpy(buf, kPrefix, sizeof kPrefix);
  char digits[16];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0);
  char* p = buf + sizeof kPrefix - 1;
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
}

int openat2_in_root(int root_fd, const char* path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

// Opens `path` (absolute, inside the container) as an O_PATH fd, resolving every component inside
// root_fd so that no symlink in the image can point a mount outside the rootfs. Missing components
// are created: directories, and the last one as an empty file when `as_file`. A dangling symlink on
// the way (e.g. /etc/resolv.conf -> ../run/...) is followed inside the root and its target created,
// as runc does; `depth` bounds symlink loops.
int open_target_in_root(int root_fd, const char* path, bool as_file, int* out_fd, int depth = 0) {
  if (depth > 40) return ELOOP;
  char buf[kPathMax];
  size_t len = std::strlen(path);
  if (len + 1 > sizeof buf) return ENAMETOOLONG;
  std::memcpy(buf, path, len + 1);
  int parent = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (parent < 0) return errno;
  size_t pos = 0;
  while (pos < len) {
    while (pos < len && buf[pos] == '/') ++pos;
    if (pos >= len) break;
    size_t end = pos;
    while (end < len && buf[end] != '/') ++end;
    bool last = end >= len;
    char saved = buf[end];
    buf[end] = '\0';
    int fd = openat2_in_root(root_fd, buf, O_PATH);
    if (fd < 0 && errno == ENOENT) {
      const char* name = buf + pos;
      int rc;
      if (last && as_file) {
        rc = ::openat(parent, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
        if (rc >= 0) ::close(rc);
      } else {
        rc = ::mkdirat(parent, name, 0755);
      }
      if (rc < 0 && errno == EEXIST) {
        // Something is there but does not resolve: a dangling symlink. Continue at its target.
        char link[kPathMax];
        ssize_t n = ::readlinkat(parent, name, link, sizeof link - 1);
        ::close(parent);
        if (n < 0) return ENOENT;
        link[n] = '\0';
        char next[kPathMax];
        size_t used = 0;
        if (link[0] != '/') {  // relative to the symlink's directory
          if (pos + 1 > sizeof next) return ENAMETOOLONG;
          std::memcpy(next, buf, pos);
          used = pos;
        }
        size_t rest = len - end;
        if (used + static_cast<size_t>(n) + rest + 1 > sizeof next) return ENAMETOOLONG;
        std::memcpy(next + used, link, static_cast<size_t>(n));
        used += static_cast<size_t>(n);
        buf[end] = saved;
        std::memcpy(next + used, buf + end, rest + 1);
        return open_target_in_root(root_fd, next, as_file, out_fd, depth + 1);
      }
      if (rc < 0) {
        int e = errno;
        ::close(parent);
        return e;
      }
      fd = openat2_in_root(root_fd, buf, O_PATH);
    }
    if (fd < 0) {
      int e = errno;
      ::close(parent);
      return e;
    }
    ::close(parent);
    parent = fd;
    buf[end] = saved;
    pos = end;
  }
  *out_fd = parent;
  return 0;
}

// Opens the parent dir of `path` inside the root and returns the last component in *name.
int open_parent_in_root(int root_fd, const char* path, char* parent_buf, const char** name,
                        int* out_fd) {
  size_t len = std::strlen(path);
  if (len + 1 > kPathMax) return ENAMETOOLONG;
  std::memcpy(parent_buf, path, len + 1);
  char* slash = std::strrchr(parent_buf, '/');
  if (!slash || slash[1] == '\0') return EINVAL;
  *slash = '\0';
  *name = path + (slash - parent_buf) + 1;
  return open_target_in_root(root_fd, parent_buf[0] ? parent_buf : "/", false, out_fd);
}

// The fd still names the directory under a new mount: reopen it to reach the mount itself.
int reopen_mount(int root_fd, const MountOp& op, int* fd, char* proc_path) {
  ::close(*fd);
  *fd = openat2_in_root(root_fd, op.target.c_str(), O_PATH);
  if (*fd < 0) return errno;
  fd_path(*fd, proc_path);
  return 0;
}

// Returns -1 with errno set, as mount(2) does.
int set_propagation(int root_fd, const MountOp& op, int* fd, char* proc_path) {
  if (int e = reopen_mount(root_fd, op, fd, proc_path)) {
    errno = e;
    return -1;
  }
  return ::mount(nullptr, proc_path, nullptr, op.propagation, nullptr);
}

int apply_in_rootfs(int root_fd, const MountOp& op) {
  char path[kPathMax];
  char proc_path[64];
  int fd = -1;
  int rc = 0;
  switch (op.kind) {
    case MountOp::Kind::kMount:
      if ((rc = open_target_in_root(root_fd, op.target.c_str(), false, &fd))) return rc;
      fd_path(fd, proc_path);
      rc = ::mount(op.source.c_str(), proc_path, op.fstype.c_str(), op.flags,
                   op.data.empty() ? nullptr : op.data.c_str());
      if (rc == 0 && op.propagation) rc = set_propagation(root_fd, op, &fd, proc_path);
      break;
    case MountOp::Kind::kBind:
      if ((rc = open_target_in_root(root_fd, op.target.c_str(), op.target_is_file, &fd))) return rc;
      fd_path(fd, proc_path);
      rc = ::mount(op.source.c_str(), proc_path, nullptr, op.flags, nullptr);
      if (rc == 0 && (op.read_only || op.remount_flags)) {
        if ((rc = reopen_mount(root_fd, op, &fd, proc_path))) return rc;
        unsigned long extra = op.remount_flags | (op.read_only ? MS_RDONLY : 0);
        rc = ::mount(nullptr, proc_path, nullptr, MS_REMOUNT | MS_BIND | MS_REC | extra, nullptr);
      }
      if (rc == 0 && op.propagation) rc = set_propagation(root_fd, op, &fd, proc_path);
      break;
    case MountOp::Kind::kDevice: {
      const char* name;
      if ((rc = open_parent_in_root(root_fd, op.target.c_str(), path, &name, &fd))) return rc;
      rc = ::mknodat(fd, name, op.mode, op.device);
      // A bundle's own device replaces a standard one of that name.
      if (rc < 0 && errno == EEXIST && op.chown && ::unlinkat(fd, name, 0) == 0) rc = ::mknodat(fd, name, op.mode, op.device);
      if (rc == 0) rc = ::fchmodat(fd, name, op.mode & 07777, 0);  // mknod obeys the umask
      if (rc == 0 && op.chown) rc = ::fchownat(fd, name, op.uid, op.gid, AT_SYMLINK_NOFOLLOW);
      break;
    }
    case MountOp::Kind::kDirectory:
      rc = open_target_in_root(root_fd, op.target.c_str(), false, &fd);
      if (rc) return rc;
      break;
    case MountOp::Kind::kSymlink: {
      const char* name;
      if ((rc = open_parent_in_root(root_fd, op.target.c_str(), path, &name, &fd))) return rc;
      rc = ::symlinkat(op.source.c_str(), fd, name);
      if (rc < 0 && errno == EEXIST) rc = 0;
      break;
    }
    default:
      return EINVAL;
  }
  int e = rc < 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  return e;
}

int apply_after_pivot(const MountOp& op) {
  const char* t = op.target.c_str();
  struct stat st;
  if (::lstat(t, &st) < 0) return errno == ENOENT ? 0 : errno;  // nothing to hide or protect
  switch (op.kind) {
    case MountOp::Kind::kMask:
      if (!S_ISDIR(st.st_mode)) return ::mount("/dev/null", t, nullptr, MS_BIND, nullptr) < 0 ? errno : 0;
      return ::mount("tmpfs", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
                 < 0 ? errno : 0;
    case MountOp::Kind::kReadOnly: {
      // The remount keeps the flags of the mount the path is on (proc's nosuid, nodev, noexec).
      // statfs, not statvfs: the raw system call (glibc's statvfs may read /proc/mounts, allocating).
      struct statfs fs;
      if (::statfs(t, &fs) < 0) return errno;
      unsigned long keep = ((fs.f_flags & ST_NOSUID) ? MS_NOSUID : 0) | ((fs.f_flags & ST_NODEV) ? MS_NODEV : 0) |
                           ((fs.f_flags & ST_NOEXEC) ? MS_NOEXEC : 0);
      if (::mount(t, t, nullptr, MS_BIND | MS_REC, nullptr) < 0) return errno;
      return ::mount(nullptr, t, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC | keep, nullptr) < 0 ? errno
                                                                                                      : 0;
    }
    default:
      return EINVAL;
  }
}

// A new network namespace has "lo" down; containers expect localhost to work.
int bring_up_loopback() {
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return errno;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int rc = ::ioctl(sock, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    rc = ::ioctl(sock, SIOCSIFFLAGS, &ifr);
  }
  int e = rc < 0 ? errno : 0;
  ::close(sock);
  return e;
}

int make_dirs_in_container(const char* path) {
  char buf[kPathMax];
  size_t len = std::strlen(path);
  if (len + 1 > sizeof buf) return ENAMETOOLONG;
  std::memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (::mkdir(buf, 0755) < 0 && errno != EEXIST) return errno;
    buf[i] = c;
  }
  return 0;
}

// Calls try_path(candidate) for argv[0] itself when it has a '/', else for each PATH entry joined
// with it, as execvp looks; stops at the first that returns 0 or an errno other than ENOENT,
// ENOTDIR and EACCES. Returns that, else EACCES if any candidate gave it, else ENOENT. No
// allocation: a stack buffer.
template <class TryPath>
int walk_command_path(const ChildPlan& plan, TryPath try_path) {
  const char* cmd = plan.argv[0];
  if (std::strchr(cmd, '/')) return try_path(cmd);
  const char* path = plan.path_env ? plan.path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int first_error = ENOENT;
  char buf[kPathMax];
  size_t cmd_len = std::strlen(cmd);
  while (*path) {
    const char* end = std::strchr(path, ':');
    size_t dir_len = end ? static_cast<size_t>(end - path) : std::strlen(path);
    if (dir_len + cmd_len + 2 <= sizeof buf) {
      std::memcpy(buf, path, dir_len);
      size_t n = dir_len;
      if (n == 0) buf[n++] = '.';
      buf[n++] = '/';
      std::memcpy(buf + n, cmd, cmd_len + 1);
      int e = try_path(buf);
      // Like execvp: remember a permission error but keep looking.
      if (e == EACCES) first_error = EACCES;
      else if (e != ENOENT && e != ENOTDIR) return e;
    }
    if (!end) break;
    path = end + 1;
  }
  return first_error;
}

// execvpe without allocation: returns only on failure, with the errno.
int exec_command(const ChildPlan& plan) {
  return walk_command_path(plan, [&](const char* candidate) {
    ::execve(candidate, plan.argv, plan.envp);
    return errno;
  });
}

// Whether exec_command would find the command: 0, or the errno it would fail with.
int check_command(const ChildPlan& plan) {
  return walk_command_path(plan, [](const char* candidate) {
    struct stat st;
    if (::stat(candidate, &st) < 0) return errno;
    if (!S_ISREG(st.st_mode)) return EACCES;
    return ::access(candidate, X_OK) == 0 ? 0 : errno;
  });
}

int write_sysctl(const ChildPlan::Sysctl& s) {
  int fd = ::open(s.path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  size_t len = std::strlen(s.value);
  ssize_t n = ::write(fd, s.value, len);
  int e = n < 0 ? errno : static_cast<size_t>(n) == len ? 0 : EIO;
  ::close(fd);
  return e;
}

// Blocks until the parent says "go" (or reports that it is gone).
void wait_for_parent(const ChildPlan& plan) {
  char go;
  ssize_t got;
  do got = ::read(plan.sync_fd, &go, 1);
  while (got < 0 && errno == EINTR);
  if (got != 1) report_and_exit(plan, ChildStep::kWaitForParent, got < 0 ? errno : EPIPE);
  ::close(plan.sync_fd);
}


// The create/start split: setup is done, so the runtime hears "created" (EOF on the report pipe)
// and may exit without taking this process along; then opening the FIFO for writing blocks until
// `start` opens it for reading. A missing command is still a create-time error, as runc's. What
// fails after this (user, capabilities, seccomp, exec) is reported to `start` through the FIFO,
// which takes the report pipe's number and closes at exec.
void wait_for_start(const ChildPlan& plan) {
  if (int e = check_command(plan)) report_and_exit(plan, ChildStep::kExec, e);
  ::prctl(PR_SET_PDEATHSIG, 0);
  ::close(plan.report_fd);
  int fifo;
  do fifo = ::openat(plan.start_fifo_dir, plan.start_fifo_name, O_WRONLY | O_CLOEXEC);
  while (fifo < 0 && errno == EINTR);
  if (fifo < 0) ::_exit(127);
  (void)!::write(fifo, "0", 1);
  if (fifo != plan.report_fd) {
    if (::dup3(fifo, plan.report_fd, O_CLOEXEC) < 0) ::_exit(127);
    ::close(fifo);
  }
  ::close(plan.start_fifo_dir);
}

// PID 1 for --init: forwards signals to the workload, reaps every zombie, exits with the
// workload's status (128+N when it was killed by signal N).
[[noreturn]] void run_init(pid_t workload) {
  sigset_t all;
  ::sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(workload, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == workload) {
        // Other processes of the container die with PID 1 (the kernel kills the pid namespace).
        ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      }
    }
  }
}


}  // namespace

void reset_signal_handling() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void run_child(const ChildPlan& plan) noexcept {
  step_clock::mark("child: cloned");
  reset_signal_handling();
  // If the runtime dies during setup, so does the container.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Not dumpable until exec: nothing inside can open this process's /proc/PID/exe (the host binary).
  ::prctl(PR_SET_DUMPABLE, 0);
  // In a new user namespace nothing is permitted until the parent has written the id maps; then
  // this process becomes the namespace's root (uid and gid 0 inside).
  if (plan.id_map_fd >= 0) {
    char mapped;
    ssize_t got;
    do got = ::read(plan.id_map_fd, &mapped, 1);
    while (got < 0 && errno == EINTR);
    if (got != 1) report_and_exit(plan, ChildStep::kUserNamespace, got < 0 ? errno : EPIPE);
    if (::setresgid(0, 0, 0) < 0 || ::setresuid(0, 0, 0) < 0 || ::setgroups(0, nullptr) < 0)
      report_and_exit(plan, ChildStep::kUserNamespace, errno);
  }
  // Into the container's cgroups first, so all that follows is accounted and limited there.
  for (size_t i = 0; i < plan.cgroup_task_fd_count; ++i)
    if (::write(plan.cgroup_task_fds[i], "0", 1) != 1)
      report_and_exit(plan, ChildStep::kJoinCgroup, errno);
  step_clock::mark("child: in its cgroups");

  for (size_t i = 0; i < plan.join_count; ++i)
    if (::setns(plan.join_fds[i], plan.join_types[i]) < 0)
      report_and_exit(plan, ChildStep::kJoinNamespace, errno, static_cast<int>(i));
  if (plan.netns_fd >= 0 && ::setns(plan.netns_fd, CLONE_NEWNET) < 0)
    report_and_exit(plan, ChildStep::kJoinNetwork, errno);
  if (plan.loopback_up)
    if (int e = bring_up_loopback()) report_and_exit(plan, ChildStep::kLoopback, e);
  // Through the host's /proc, which shows the caller's own namespaces: the container's now.
  for (size_t i = 0; i < plan.sysctl_count; ++i)
    if (int e = write_sysctl(plan.sysctls[i])) report_and_exit(plan, ChildStep::kSysctl, e, static_cast<int>(i));
  step_clock::mark("child: namespaces joined, loopback up");
  if (::mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) < 0)
    report_and_exit(plan, ChildStep::kMountPropagation, errno);
  step_clock::mark("child: mounts private");

  const MountPlan& m = plan.mounts;
  if (!m.writable_layer.fstype.empty()) {
    const MountOp& t = m.writable_layer;
    if (::mount("tmpfs", t.target.c_str(), "tmpfs", t.flags, t.data.c_str()) < 0)
      report_and_exit(plan, ChildStep::kMountWritableLayer, errno);
    for (const auto& dir : m.writable_layer_dirs)
      if (::mkdir(dir.c_str(), 0755) < 0) report_and_exit(plan, ChildStep::kMountWritableLayer, errno);
  }
  const char* root = m.rootfs_target.c_str();
  int rc;
  if (m.rootfs.kind == MountOp::Kind::kBind)
    rc = ::mount(m.rootfs.source.c_str(), root, nullptr, MS_BIND | MS_REC, nullptr);
  else
    rc = ::mount("overlay", root, "overlay", 0, m.rootfs.data.c_str());
  if (rc < 0) report_and_exit(plan, ChildStep::kMountRootfs, errno);
  step_clock::mark("child: rootfs mounted");

  int root_fd = ::open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) report_and_exit(plan, ChildStep::kOpenRootfs, errno);
  for (size_t i = 0; i < m.in_rootfs.size(); ++i)
    if (int e = apply_in_rootfs(root_fd, m.in_rootfs[i]))
      report_and_exit(plan, ChildStep::kMountInRootfs, e, static_cast<int>(i));
  ::close(root_fd);
  step_clock::mark("child: mounts in the rootfs done");

  if (plan.wait_before_pivot) {
    ChildReport ready{ChildStep::kWaitForParent, 0, -1};
    if (::write(plan.report_fd, &ready, sizeof ready) != sizeof ready) ::_exit(127);
    wait_for_parent(plan);
  }
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new.
  if (::chdir(root) < 0 || ::syscall(SYS_pivot_root, ".", ".") < 0 ||
      ::umount2(".", MNT_DETACH) < 0 || ::chdir("/") < 0)
    report_and_exit(plan, ChildStep::kPivotRoot, errno);
  step_clock::mark("child: pivot_root done");
  // After the pivot, which refuses a shared new root.
  if (plan.rootfs_propagation && ::mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) < 0)
    report_and_exit(plan, ChildStep::kMountPropagation, errno);

  for (size_t i = 0; i < m.after_pivot.size(); ++i)
    if (int e = apply_after_pivot(m.after_pivot[i]))
      report_and_exit(plan, ChildStep::kMountAfterPivot, e, static_cast<int>(i));
  if (m.read_only_root &&
      ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
    report_and_exit(plan, ChildStep::kReadOnlyRoot, errno);
  step_clock::mark("child: mounts after the pivot done");

  if (plan.hostname && ::sethostname(plan.hostname, std::strlen(plan.hostname)) < 0)
    report_and_exit(plan, ChildStep::kHostname, errno);
  if (plan.domainname && ::setdomainname(plan.domainname, std::strlen(plan.domainname)) < 0)
    report_and_exit(plan, ChildStep::kDomainname, errno);

  // The filesystem work above overlaps with the parent's own setup (networking hooks).
  if (!plan.wait_before_pivot) wait_for_parent(plan);
  step_clock::mark("child: parent said go");
  if (plan.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) < 0)
    report_and_exit(plan, ChildStep::kCgroupNamespace, errno);

  for (int i = 0; i < 3; ++i)
    if (plan.stdio_fds[i] >= 0 && ::dup2(plan.stdio_fds[i], i) < 0)
      report_and_exit(plan, ChildStep::kStdio, errno);

  if (plan.init) {
    sigset_t all, old;
    ::sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    pid_t workload = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (workload < 0) report_and_exit(plan, ChildStep::kInitFork, errno);
    if (workload > 0) {
      // PID 1 keeps no fds at all: stdio is the workload's (with a terminal, the runtime's own
      // until the workload attaches it).
      ::syscall(SYS_close_range, 0U, ~0U, 0U);
      ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
      CapabilityPlan none{.set = 0, .last_cap = plan.capabilities.last_cap};
      (void)apply_capabilities(none);
      run_init(workload);
    }
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }
  // The workload (not --init's PID 1) leads the terminal's session, so ^C reaches it.
  if (plan.console_socket >= 0)
    if (int e = attach_console(plan.console_socket, plan.console_size, plan.uid))
      report_and_exit(plan, ChildStep::kConsole, e);

  if (make_dirs_in_container(plan.cwd) != 0 || ::chdir(plan.cwd) < 0)
    report_and_exit(plan, ChildStep::kWorkingDir, errno);
  // Before the user changes: raising a hard limit needs CAP_SYS_RESOURCE.
  for (size_t i = 0; i < plan.rlimit_count; ++i) {
    rlimit limit{plan.rlimits[i].soft, plan.rlimits[i].hard};
    if (::setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource), &limit) < 0)
      report_and_exit(plan, ChildStep::kRlimit, errno, static_cast<int>(i));
  }
  if (plan.start_fifo_dir >= 0) wait_for_start(plan);

  step_clock::mark("child: stdio, cwd, rlimits set");
  // Every inherited fd above stdio closes at exec: no runtime fd reaches the container. Only
  // those an OCI caller passes on (--preserve-fds) stay. Before any filter, which may not allow
  // close_range.
  for (int fd = 3; fd < 3 + plan.preserve_fds; ++fd)
    if (::fcntl(fd, F_SETFD, 0) < 0) report_and_exit(plan, ChildStep::kCloseFds, errno);
  if (::syscall(SYS_close_range, 3U + static_cast<unsigned>(plan.preserve_fds), ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    report_and_exit(plan, ChildStep::kCloseFds, errno);
  // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while we have it.
  if (plan.seccomp && !plan.no_new_privileges)
    if (int e = load_seccomp(*plan.seccomp)) report_and_exit(plan, ChildStep::kSeccomp, e);
  if (int e = prepare_keep_caps()) report_and_exit(plan, ChildStep::kCapabilities, e);
  if (::setgroups(plan.group_count, plan.groups) < 0)
    report_and_exit(plan, ChildStep::kSetGroups, errno);
  if (::setresgid(plan.gid, plan.gid, plan.gid) < 0) report_and_exit(plan, ChildStep::kSetGid, errno);
  if (::setresuid(plan.uid, plan.uid, plan.uid) < 0) report_and_exit(plan, ChildStep::kSetUid, errno);
  if (int e = apply_capabilities(plan.capabilities)) report_and_exit(plan, ChildStep::kCapabilities, e);
  if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    report_and_exit(plan, ChildStep::kNoNewPrivileges, errno);
  // Seccomp last: the filter may forbid calls the steps above need.
  step_clock::mark("child: credentials and capabilities set");
  if (plan.seccomp && plan.no_new_privileges)
    if (int e = load_seccomp(*plan.seccomp)) report_and_exit(plan, ChildStep::kSeccomp, e);
  step_clock::mark("child: seccomp filter loaded; exec");
  report_and_exit(plan, ChildStep::kExec, exec_command(plan));
}

}  // namespace slipway::runtime
