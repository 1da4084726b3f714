#include "runtime/launcher.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "base/fs.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "base/step_clock.h"
#include "runtime/capabilities.h"
#include "runtime/child_plan.h"
#include "runtime/etc_files.h"
#include "runtime/rootfs_access.h"
#include "runtime/seccomp_cache.h"
#include "runtime/seccomp_profile.h"

namespace slipway::runtime {
namespace {

// Null-terminated char* arrays over strings that outlive the child's use of them.
class CStringArray {
 public:
  explicit CStringArray(const std::vector<std::string>& v) {
    for (const auto& s : v) ptrs_.push_back(const_cast<char*>(s.c_str()));
    ptrs_.push_back(nullptr);
  }
  char* const* get() const { return ptrs_.data(); }

 private:
  std::vector<char*> ptrs_;
};

const char* path_from_env(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.starts_with("PATH=")) return e.c_str() + 5;
  return nullptr;
}

std::string describe_step(const ChildReport& r, const ChildPlan& plan, const ContainerSpec& spec) {
  const MountPlan& m = plan.mounts;
  auto op_target = [&](const std::vector<MountOp>& ops) -> std::string {
    if (r.op_index < 0 || static_cast<size_t>(r.op_index) >= ops.size()) return "?";
    const MountOp& op = ops[r.op_index];
    return op.kind == MountOp::Kind::kBind ? fmt::format("bind {} on {}", op.source, op.target)
                                           : fmt::format("{} on {}", op.fstype.empty() ? "create" : op.fstype, op.target);
  };
  switch (r.step) {
    case ChildStep::kWaitForParent: return "wait for runtime";
    case ChildStep::kCgroupNamespace: return "create cgroup namespace";
    case ChildStep::kJoinCgroup: return "join the container's cgroup";
    case ChildStep::kJoinNetwork: return fmt::format("join network namespace {}", spec.network.join_path);
    case ChildStep::kLoopback: return "bring up the loopback interface";
    case ChildStep::kMountPropagation: return "make mounts private";
    case ChildStep::kMountWritableLayer:
      return fmt::format("make the writable layer on a tmpfs of {} bytes at {}", spec.rootfs.writable_size,
                         spec.rootfs.writable_dir);
    case ChildStep::kMountRootfs:
      return m.rootfs.kind == MountOp::Kind::kBind
                 ? fmt::format("bind rootfs {} on {}", m.rootfs.source, m.rootfs_target)
                 : fmt::format("mount overlay on {}", m.rootfs_target);
    case ChildStep::kOpenRootfs: return fmt::format("open rootfs {}", m.rootfs_target);
    case ChildStep::kMountInRootfs: return fmt::format("mount {}", op_target(m.in_rootfs));
    case ChildStep::kPivotRoot: return fmt::format("pivot_root to {}", m.rootfs_target);
    case ChildStep::kMountAfterPivot: return fmt::format("protect {}", op_target(m.after_pivot));
    case ChildStep::kReadOnlyRoot: return "make rootfs read-only";
    case ChildStep::kHostname: return fmt::format("set hostname {}", spec.hostname);
    case ChildStep::kWorkingDir: return fmt::format("change to working directory {}", spec.process.cwd);
    case ChildStep::kInitFork: return "fork init";
    case ChildStep::kSetGroups: return "set supplementary groups";
    case ChildStep::kSetGid: return fmt::format("set gid {}", spec.process.gid);
    case ChildStep::kSetUid: return fmt::format("set uid {}", spec.process.uid);
    case ChildStep::kCapabilities: return "set capabilities";
    case ChildStep::kNoNewPrivileges: return "set no_new_privs";
    case ChildStep::kCloseFds: return "close inherited file descriptors";
    case ChildStep::kSeccomp: return "load seccomp filter";
    case ChildStep::kExec: return fmt::format("exec {}", spec.process.args.front());
    case ChildStep::kStdio: return "set up stdio";
    case ChildStep::kConsole: return "set up terminal";
    case ChildStep::kJoinNamespace:
      return r.op_index >= 0 && static_cast<size_t>(r.op_index) < spec.namespaces.join.size()
                 ? fmt::format("join namespace {}", spec.namespaces.join[r.op_index].path)
                 : "join namespace";
    case ChildStep::kSysctl:
      return r.op_index >= 0 && static_cast<size_t>(r.op_index) < spec.sysctl.size()
                 ? fmt::format("set sysctl {}", spec.sysctl[r.op_index].first)
                 : "set sysctl";
    case ChildStep::kDomainname: return fmt::format("set domain name {}", spec.domainname);
    case ChildStep::kRlimit: return "set resource limit";
    case ChildStep::kStartFifo: return "wait for start";
    case ChildStep::kUserNamespace: return "become root of the user namespace";
  }
  return "container setup";
}

// clone3 with CLONE_PIDFD (and CLONE_INTO_CGROUP when cgroup_fd >= 0) where the kernel has it,
// else clone + pidfd_open. Fork semantics: the child returns 0 on a copy of the parent's stack.
// *into_cgroup tells whether the child was born in the cgroup.
pid_t clone_child(uint64_t ns_flags, int cgroup_fd, int* pidfd, bool* into_cgroup) {
  clone_args args{};
  args.flags = ns_flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  *into_cgroup = false;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) {
      *into_cgroup = true;
      return static_cast<pid_t>(pid);
    }
    if (errno != ENOSYS && errno != EINVAL) return -1;
    args.flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    args.cgroup = 0;
  }
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid >= 0 || errno != ENOSYS) return static_cast<pid_t>(pid);
  pid = ::syscall(SYS_clone, ns_flags | SIGCHLD, 0, 0, 0, 0);
  if (pid > 0) *pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return static_cast<pid_t>(pid);
}

ExitStatus exit_status_from(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
    s.exit_code = 128 + s.signal;
  }
  return s;
}

// Every start of a copy-on-write volume begins from the snapshot: fresh upper and work dirs, the
// upper owned and moded like the source because the overlay's root dir shows the upper's (as Podman
// does).
Status prepare_cow_volume(const BindMount& b) {
  struct stat st;
  if (::stat(b.source.c_str(), &st) < 0)
    return fail_errno(fmt::format("copy-on-write volume {}", b.source));
  if (!S_ISDIR(st.st_mode)) return fail("copy-on-write volume {}: not a directory", b.source);
  for (const auto& dir : {b.upper_dir, b.work_dir}) {
    SLW_TRY(fs::remove_tree(dir));
    SLW_TRY(fs::make_dirs(dir, 0700));
  }
  if (::chown(b.upper_dir.c_str(), st.st_uid, st.st_gid) < 0 ||
      ::chmod(b.upper_dir.c_str(), st.st_mode & 07777) < 0)
    return fail_errno(
        fmt::format("copy-on-write volume {}: set owner of {}", b.source, b.upper_dir));
  return {};
}

// "container_id host_id size" lines into /proc/PID/uid_map and gid_map.
Status write_id_maps(pid_t pid, const NamespaceSpec& ns) {
  for (const auto& [file, mappings] : {std::pair{"uid_map", &ns.uid_mappings}, std::pair{"gid_map", &ns.gid_mappings}}) {
    std::string text;
    for (const auto& m : *mappings) text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
    SLW_TRY_CTX(fs::write_file(fmt::format("/proc/{}/{}", pid, file), text), "write the container's {}", file);
  }
  return {};
}

// The steps that may fail after the start FIFO, for `start`'s error.
std::string late_step_name(ChildStep step) {
  switch (step) {
    case ChildStep::kSeccomp: return "load seccomp filter";
    case ChildStep::kCapabilities: return "set capabilities";
    case ChildStep::kSetGroups: return "set supplementary groups";
    case ChildStep::kSetGid: return "set gid";
    case ChildStep::kSetUid: return "set uid";
    case ChildStep::kNoNewPrivileges: return "set no_new_privs";
    case ChildStep::kCloseFds: return "close inherited file descriptors";
    case ChildStep::kExec: return "exec the command";
    default: return "container setup";
  }
}

// Each hierarchy's directory of the container's cgroup by the hierarchy's mount name.
CgroupView cgroup_view(const CgroupLayout& layout, const Cgroup& cgroup) {
  CgroupView view;
  for (const auto& dir : cgroup.paths()) {
    if (!layout.uses_v1()) {
      view.v2_dir = dir;
      continue;
    }
    for (const auto& [controller, mount] : layout.v1_mounts) {
      if (!dir.starts_with(mount + "/")) continue;
      std::string name = std::filesystem::path(mount).filename();
      auto same = [&](const auto& p) { return p.first == name; };
      if (std::none_of(view.v1_dirs.begin(), view.v1_dirs.end(), same)) view.v1_dirs.emplace_back(name, dir);
    }
  }
  return view;
}

}  // namespace

Result<StartedContainer> start_container(const ContainerSpec& spec, const LaunchOptions& options) {
  if (spec.process.args.empty()) return fail("no command to run: the image has no Cmd or Entrypoint");
  if (spec.state_dir.empty()) return fail("container {} has no state directory", spec.id);

  std::string etc_dir = fs::join(spec.state_dir, "etc");
  SLW_TRY(fs::make_dirs(etc_dir));
  SLW_TRY(fs::make_dirs(fs::join(spec.state_dir, "rootfs")));
  if (spec.rootfs.writable_size) {
    SLW_TRY(fs::make_dirs(spec.rootfs.writable_dir, 0700));  // the child mounts the tmpfs on it
  } else if (spec.rootfs.plain_dir.empty()) {
    SLW_TRY(fs::make_dirs(spec.rootfs.upper_dir));
    SLW_TRY(fs::make_dirs(spec.rootfs.work_dir));
    SLW_TRY(reuse_volatile_upper(spec.rootfs));
  } else if (!fs::is_dir(spec.rootfs.plain_dir)) {
    return fail("rootfs {}: not a directory", spec.rootfs.plain_dir);
  }
  // The plan makes no syscalls: what it needs to know of the host goes into this copy.
  ContainerSpec planned = spec;
  for (auto& b : planned.binds) {
    if (b.copy_on_write) {
      SLW_TRY(prepare_cow_volume(b));
    } else if (!fs::exists(b.source)) {
      SLW_TRY_CTX(fs::make_dirs(b.source), "volume {}", b.source);
    } else {
      b.source_is_file = !fs::is_dir(b.source);
    }
  }
  if (planned.mounts)
    for (auto& m : *planned.mounts)
      if (m.flags & MS_BIND) m.source_is_file = fs::exists(m.source) && !fs::is_dir(m.source);
  SLW_TRY(write_etc_files(etc_dir, spec));
  step_clock::mark("launch: state dirs, volumes and /etc files made");

  ChildPlan plan;
  SeccompProgram seccomp = SLW_TRY(container_seccomp(spec.security, spec.cache_dir));
  CapabilityPlan caps = spec.security.capability_sets ? SLW_TRY(plan_capability_sets(*spec.security.capability_sets))
                                                      : SLW_TRY(plan_capabilities(spec.security.capabilities));
  step_clock::mark("launch: seccomp program and capabilities ready");
  CStringArray argv(spec.process.args);
  CStringArray envp(spec.process.env);
  plan.hostname = spec.hostname.empty() ? nullptr : spec.hostname.c_str();  // else the uts namespace's own
  plan.cwd = spec.process.cwd.empty() ? "/" : spec.process.cwd.c_str();
  plan.argv = argv.get();
  plan.envp = envp.get();
  plan.path_env = path_from_env(spec.process.env);
  plan.uid = spec.process.uid;
  plan.gid = spec.process.gid;
  plan.groups = spec.process.additional_gids.data();
  plan.group_count = spec.process.additional_gids.size();
  plan.capabilities = caps;
  plan.seccomp = seccomp.filter.empty() ? nullptr : &seccomp;
  plan.no_new_privileges = spec.security.no_new_privileges;
  plan.init = spec.init;
  plan.loopback_up = spec.network.mode == NetworkMode::kNone;
  plan.preserve_fds = options.preserve_fds;
  plan.wait_before_pivot = options.hold_before_pivot;
  plan.domainname = spec.domainname.empty() ? nullptr : spec.domainname.c_str();
  plan.rlimits = spec.process.rlimits.data();
  plan.rlimit_count = spec.process.rlimits.size();
  plan.new_cgroup_ns = (spec.namespaces.create & CLONE_NEWCGROUP) != 0;
  if (spec.rootfs_propagation) {
    plan.rootfs_propagation = spec.rootfs_propagation;
    // Slave or shared: host mounts reach the container, so every mount is a slave from the start
    // (a shared one would fail the pivot); after the pivot the root takes what was asked. Private
    // and unbindable are set after the pivot only (an unbindable root cannot be bound from).
    if (spec.rootfs_propagation & (MS_SLAVE | MS_SHARED)) plan.root_propagation = MS_SLAVE | MS_REC;
  }
  std::vector<std::string> sysctl_paths;
  std::vector<ChildPlan::Sysctl> sysctls;
  for (const auto& [key, value] : spec.sysctl) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    sysctl_paths.push_back(std::move(path));
  }
  for (size_t i = 0; i < spec.sysctl.size(); ++i)
    sysctls.push_back({sysctl_paths[i].c_str(), spec.sysctl[i].second.c_str()});
  plan.sysctls = sysctls.data();
  plan.sysctl_count = sysctls.size();
  std::vector<UniqueFd> join_fds;
  std::vector<int> join_fd_numbers, join_types;
  UniqueFd join_pid_ns;
  for (const auto& j : spec.namespaces.join) {
    if (j.type == CLONE_NEWPID) {
      // A pid namespace is entered by the parent: its next child is born in it.
      join_pid_ns = SLW_TRY_CTX(fs::open_file(j.path, O_RDONLY), "namespace {}", j.path);
      continue;
    }
    join_fds.push_back(SLW_TRY_CTX(fs::open_file(j.path, O_RDONLY), "namespace {}", j.path));
    join_fd_numbers.push_back(join_fds.back().get());
    join_types.push_back(j.type);
  }
  plan.join_fds = join_fd_numbers.data();
  plan.join_types = join_types.data();
  plan.join_count = join_types.size();
  UniqueFd start_fifo_dir;
  std::filesystem::path start_fifo(spec.start_fifo);
  std::string start_fifo_name = start_fifo.filename();
  if (!spec.start_fifo.empty()) {
    start_fifo_dir = SLW_TRY(fs::open_file(start_fifo.parent_path(), O_PATH | O_DIRECTORY));
    plan.start_fifo_dir = start_fifo_dir.get();
    plan.start_fifo_name = start_fifo_name.c_str();
  }
  std::unique_ptr<StdioRelay> stdio = SLW_TRY(StdioRelay::create(options.stdio));
  for (int i = 0; i < 3; ++i) plan.stdio_fds[i] = stdio->container_fds()[i];
  plan.console_socket = stdio->console_socket();
  plan.console_size = stdio->console_size();

  UniqueFd netns;
  if (spec.network.mode == NetworkMode::kJoin) {
    netns = SLW_TRY(fs::open_file(spec.network.join_path, O_RDONLY));
    plan.netns_fd = netns.get();
  }

  CgroupLimits limits{spec.resources.memory_bytes, spec.resources.cpus, spec.resources.pids,
                      spec.resources.pids_is_default, spec.resources.cpu_shares, spec.resources.device_rules,
                      spec.resources.cpu_quota_us, spec.resources.cpu_period_us, spec.resources.cpuset_cpus,
                      spec.resources.cpuset_mems, spec.resources.cpu_accounting};
  step_clock::mark("launch: stdio ready");
  CgroupLayout layout = SLW_TRY(detect_cgroup_layout());
  Cgroup cgroup = SLW_TRY(
      Cgroup::create(layout, spec.cgroup_name.empty() ? container_cgroup_name(spec.id) : spec.cgroup_name, limits));
  plan.mounts = plan_mounts(planned, etc_dir, cgroup_view(layout, cgroup));
  step_clock::mark("launch: cgroup made, mounts planned");

  int sync[2], report[2];
  if (::pipe2(sync, O_CLOEXEC) < 0) return fail_errno("create sync pipe");
  UniqueFd sync_read(sync[0]), sync_write(sync[1]);
  if (::pipe2(report, O_CLOEXEC) < 0) return fail_errno("create report pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  plan.sync_fd = sync_read.get();
  plan.report_fd = report_write.get();

  // The cgroup namespace is unshared by the child once it is in its cgroup.
  uint64_t ns_flags = spec.namespaces.create & ~static_cast<uint64_t>(CLONE_NEWCGROUP);
  if (spec.network.mode == NetworkMode::kNone) ns_flags |= CLONE_NEWNET;
  CgroupJoin join = SLW_TRY(cgroup.open_join());
  std::vector<int> task_fds;
  // In a user namespace the child may not write the host's tasks files: the parent moves it.
  if (!spec.namespaces.user())
    for (const auto& fd : join.v1_task_files) task_fds.push_back(fd.get());
  UniqueFd id_map_read, id_map_write;
  if (spec.namespaces.user()) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("create id map pipe");
    id_map_read.reset(p[0]);
    id_map_write.reset(p[1]);
    plan.id_map_fd = id_map_read.get();
  }
  plan.cgroup_task_fds = task_fds.data();
  plan.cgroup_task_fd_count = task_fds.size();
  int pidfd = -1;
  bool born_in_cgroup = false;
  UniqueFd own_pid_ns;
  if (join_pid_ns) {
    own_pid_ns = SLW_TRY(fs::open_file("/proc/thread-self/ns/pid_for_children", O_RDONLY));
    if (::setns(join_pid_ns.get(), CLONE_NEWPID) < 0) return fail_errno(fmt::format("join pid namespace of {}", spec.id));
  }
  pid_t pid = clone_child(ns_flags, join.v2_dir.get(), &pidfd, &born_in_cgroup);
  if (own_pid_ns && pid != 0) (void)::setns(own_pid_ns.get(), CLONE_NEWPID);
  if (pid < 0) return fail_errno("clone container process");
  if (pid > 0) step_clock::mark("launch: cloned");
  if (pid == 0) {
    ::close(sync[1]);
    ::close(report[0]);
    run_child(plan);
  }
  StartedContainer c{pid, UniqueFd(pidfd), std::move(cgroup), std::move(stdio)};
  sync_read.reset();
  report_write.reset();
  auto reap = ScopeExit([&] {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });
  if (spec.namespaces.user()) {
    id_map_read.reset();
    SLW_TRY(write_id_maps(pid, spec.namespaces));
    if (::write(id_map_write.get(), "m", 1) != 1) return fail_errno("let the container go on in its user namespace");
  }
  c.stdio->close_container_fds();
  SLW_TRY(c.stdio->start());

  join = {};
  // A v2 kernel without CLONE_INTO_CGROUP: the parent moves the child (the slow path).
  if (task_fds.empty() && !born_in_cgroup) SLW_TRY(c.cgroup.add_process(pid));
  if (spec.process.oom_score_adj)
    SLW_TRY_CTX(fs::write_file(fmt::format("/proc/{}/oom_score_adj", pid), std::to_string(*spec.process.oom_score_adj)),
                "set oom_score_adj");
  ChildReport r{};
  ssize_t n = 0;
  auto read_report = [&] {
    do n = ::read(report_read.get(), &r, sizeof r);
    while (n < 0 && errno == EINTR);
  };
  bool go_on = true;
  if (options.hold_before_pivot) {
    // The child says it is ready (a report without an error) just before its pivot_root.
    read_report();
    go_on = n == sizeof r && r.step == ChildStep::kWaitForParent && r.error == 0;
  }
  if (go_on) {
    if (options.before_exec) SLW_TRY(options.before_exec(pid));
    step_clock::mark("launch: hooks run, child told to go");
    // The child may already have failed (and closed its end): its report below says why. The
    // caller ignores SIGPIPE (cli main), so this write fails with EPIPE rather than killing us.
    char go = 'g';
    (void)!::write(sync_write.get(), &go, 1);
    sync_write.reset();
    read_report();
  }
  if (n == sizeof r) {
    if (r.step != ChildStep::kExec)
      return std::unexpected(
          Error(r.error, fmt::format("{}: {}", describe_step(r, plan, spec), std::strerror(r.error))));
    const std::string& command = spec.process.args.front();
    if (r.error == ENOENT)
      return std::unexpected(Error(r.error, fmt::format("exec {}: executable file not found in $PATH", command),
                                   ErrorKind::kCommandNotFound));
    return std::unexpected(Error(r.error, fmt::format("exec {}: {}", command, std::strerror(r.error)),
                                 ErrorKind::kCommandNotExecutable));
  }
  if (n != 0) return fail("container process died during setup");
  reap.release();
  return c;
}

Status await_exec_after_start(int fifo, int pidfd) {
  ChildReport r{};
  size_t got = 0;
  for (;;) {
    pollfd fds[2] = {{fifo, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for the container's command");
    }
    if (fds[0].revents) {
      ssize_t n = ::read(fifo, reinterpret_cast<char*>(&r) + got, sizeof r - got);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return {};  // closed at exec: the command runs
      got += static_cast<size_t>(n);
      if (got < sizeof r) continue;
      std::string what = late_step_name(r.step);
      if (r.step == ChildStep::kExec && r.error == ENOENT) return fail("exec: executable file not found in $PATH");
      return std::unexpected(Error(r.error, fmt::format("{}: {}", what, std::strerror(r.error))));
    }
    if (fds[1].revents) return fail("the container's process died before its command ran");
  }
}

Result<ExitStatus> wait_container(StartedContainer& c, const WaitOptions& options) {
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  UniqueFd sigfd;
  if (options.forward_signals) {
    for (int s : kForwardedSignals) sigaddset(&forwarded, s);
    ::sigprocmask(SIG_BLOCK, &forwarded, &old);
    sigfd.reset(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  }
  auto restore = ScopeExit([&] {
    if (options.forward_signals) ::sigprocmask(SIG_SETMASK, &old, nullptr);
  });
  UniqueFd timer;
  if (options.timeout) {
    timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
    itimerspec its{};
    its.it_value.tv_sec = options.timeout->count() / 1000;
    its.it_value.tv_nsec = (options.timeout->count() % 1000) * 1000000;
    ::timerfd_settime(timer.get(), 0, &its, nullptr);
  }
  bool timed_out = false;
  bool holder_exited = false;
  int holder = options.holder_pidfd;
  for (;;) {
    pollfd fds[4] = {{c.pidfd.get(), POLLIN, 0},
                     {sigfd.get(), POLLIN, 0},
                     {timer.get(), POLLIN, 0},
                     {holder, POLLIN, 0}};
    if (::poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for container");
    }
    if (fds[0].revents) break;
    if (fds[1].revents) {
      signalfd_siginfo si;
      if (::read(sigfd.get(), &si, sizeof si) == sizeof si)
        ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), si.ssi_signo, nullptr, 0);
    }
    if (fds[3].revents) {
      // The network holder is gone: this container has lost its network; stop it, visibly.
      holder_exited = true;
      holder = -1;
      ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), SIGTERM, nullptr, 0);
      timer.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
      itimerspec its{};
      its.it_value.tv_sec = options.holder_grace.count() / 1000;
      its.it_value.tv_nsec = (options.holder_grace.count() % 1000) * 1000000 + 1;
      ::timerfd_settime(timer.get(), 0, &its, nullptr);
      continue;
    }
    if (fds[2].revents) {
      timed_out = !holder_exited;
      timer.reset();
      (void)c.cgroup.kill_all(SIGKILL);
      ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), SIGKILL, nullptr, 0);
    }
  }
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  ExitStatus s = exit_status_from(status);
  s.timed_out = timed_out;
  s.holder_exited = holder_exited;
  s.oom_killed = c.cgroup.oom_killed().value_or(false);
  // The exit is what the caller records; a cgroup that cannot go yet (a process still leaving it)
  // is gc's to remove, and must not cost the record its exit status.
  if (auto st = c.cgroup.destroy(); !st) log::warn("{}", st.error().message());
  // Every process of the container is gone: its output pipes are at EOF once drained.
  if (c.stdio) c.stdio->finish();
  return s;
}

std::string describe_exit(const ExitStatus& s) {
  std::string what = s.signal ? fmt::format("killed by signal {} ({})", s.signal, strsignal(s.signal))
                              : fmt::format("exited with code {}", s.exit_code);
  if (s.oom_killed) what += ", out of memory (OOM killed)";
  if (s.timed_out) what += ", timed out";
  if (s.holder_exited) what += ", stopped because the container whose network it shared exited";
  return what;
}

}  // namespace slipway::runtime
