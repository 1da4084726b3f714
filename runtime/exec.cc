// `slipway exec`: a new process in a running container. The parent enters the container's pid
// namespace (affects only its children), forks, places the child in the container's cgroup, and the
// child joins the other namespaces through the pidfd, drops to the container's user, capabilities
// and seccomp filter, and execs.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "base/scope_exit.h"
#include "runtime/capabilities.h"
#include "runtime/child_plan.h"
#include "runtime/console.h"
#include "runtime/cgroups.h"
#include "runtime/container_ops.h"
#include "runtime/launcher.h"
#include "base/fs.h"
#include "runtime/seccomp_cache.h"
#include "runtime/seccomp_filter.h"
#include "runtime/seccomp_profile.h"

namespace slipway::runtime {
namespace {

struct ExecReport {
  int32_t step;
  int32_t error;
};

enum ExecStep : int32_t { kWait = 1, kJoin, kStdio, kConsole, kChdir, kRlimit, kIds, kCaps, kNnp, kFds, kSeccomp, kExecve };

const char* step_name(int32_t step) {
  switch (step) {
    case kWait: return "wait for runtime";
    case kJoin: return "join container namespaces";
    case kStdio: return "set up stdio";
    case kConsole: return "set up terminal";
    case kChdir: return "change to working directory";
    case kRlimit: return "set resource limit";
    case kIds: return "set user";
    case kCaps: return "set capabilities";
    case kNnp: return "set no_new_privs";
    case kFds: return "close inherited file descriptors";
    case kSeccomp: return "load seccomp filter";
    case kExecve: return "exec";
  }
  return "exec setup";
}

[[noreturn]] void report(int fd, int32_t step, int error) {
  ExecReport r{step, error};
  (void)!::write(fd, &r, sizeof r);
  ::_exit(127);
}

const char* path_of(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.starts_with("PATH=")) return e.c_str() + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

}  // namespace

Result<int> exec_in_container(const ContainerStore& store, const ContainerRecord& record,
                              const ExecOptions& options) {
  ContainerState s = SLW_TRY(store.load_state(record.id));
  if (!container_running(s)) return fail("container {} is not running", record.name);
  return exec_process({record.name, s.pid, s.pid_start_time, container_cgroup_name(record.id), &record.spec}, options);
}

Result<int> exec_process(const ExecTarget& target, const ExecOptions& options) {
  if (options.args.empty()) return fail("exec: no command given");
  int pidfd_raw = static_cast<int>(::syscall(SYS_pidfd_open, target.pid, 0));
  if (pidfd_raw < 0) return fail_errno(fmt::format("open pidfd of container {}", target.name));
  UniqueFd pidfd(pidfd_raw);
  if (!process_alive(target.pid, target.pid_start_time)) return fail("container {} is not running", target.name);

  const ContainerSpec& spec = *target.spec;
  const std::vector<ProcessSpec::Rlimit>& rlimits = spec.process.rlimits;
  SeccompProgram seccomp = SLW_TRY(container_seccomp(spec.security, spec.cache_dir));
  CapabilityPlan caps = spec.security.capability_sets ? SLW_TRY(plan_capability_sets(*spec.security.capability_sets))
                                                      : SLW_TRY(plan_capabilities(spec.security.capabilities));
  std::vector<std::string> env = spec.process.env;
  env.insert(env.end(), options.env.begin(), options.env.end());
  std::vector<char*> argv, envp;
  for (const auto& a : options.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string cwd = options.cwd.empty() ? spec.process.cwd : options.cwd;
  uid_t uid = options.user ? options.user->first : spec.process.uid;
  gid_t gid = options.user ? options.user->second : spec.process.gid;
  const std::vector<gid_t>& groups = spec.process.additional_gids;
  const char* path = path_of(env);

  CgroupLayout layout = SLW_TRY(detect_cgroup_layout());
  Cgroup cgroup = SLW_TRY(Cgroup::open_existing(layout, target.cgroup_name));
  cgroup.release();  // the container owns it, not this exec

  // The exec'd process gets pipes or a terminal, never this process's own stdio (stdio_relay.h).
  std::unique_ptr<StdioRelay> stdio = SLW_TRY(StdioRelay::create(options.stdio));
  const std::array<int, 3> stdio_fds = stdio->container_fds();
  const int console_socket = stdio->console_socket();
  const ConsoleSize console_size = stdio->console_size();
  // Threads cannot be made once this process has entered another pid namespace for its children.
  SLW_TRY(stdio->start());
  // Children of this process are born in the container's pid namespace from here on.
  UniqueFd pidns = SLW_TRY(fs::open_file(fmt::format("/proc/{}/ns/pid", target.pid), O_RDONLY));
  if (::setns(pidns.get(), CLONE_NEWPID) < 0) return fail_errno("enter container pid namespace");

  int sync[2], rep[2];
  if (::pipe2(sync, O_CLOEXEC) < 0 || ::pipe2(rep, O_CLOEXEC) < 0) return fail_errno("create pipes");
  UniqueFd sync_r(sync[0]), sync_w(sync[1]), rep_r(rep[0]), rep_w(rep[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork exec process");
  if (child == 0) {
    reset_signal_handling();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::prctl(PR_SET_DUMPABLE, 0);  // nothing in the container may open our /proc/PID/exe
    char go;
    if (::read(sync[0], &go, 1) != 1) report(rep[1], kWait, EPIPE);
    // A detached process outlives the runtime, which only waits for its report from here on.
    if (options.detach) ::prctl(PR_SET_PDEATHSIG, 0);
    int ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
    // A container with a user namespace: its ids and capabilities are that namespace's, never the
    // host's.
    if (spec.namespaces.user()) ns |= CLONE_NEWUSER;
    if (::setns(pidfd.get(), ns) < 0) report(rep[1], kJoin, errno);
    if (console_socket >= 0) {
      if (int e = attach_console(console_socket, console_size, uid)) report(rep[1], kConsole, e);
    } else {
      for (int i = 0; i < 3; ++i)  // -1: the caller's own, passed through (OCI)
        if (stdio_fds[i] >= 0 && ::dup2(stdio_fds[i], i) < 0) report(rep[1], kStdio, errno);
    }
    if (::chdir(cwd.c_str()) < 0) report(rep[1], kChdir, errno);
    for (const auto& r : rlimits) {
      rlimit limit{r.soft, r.hard};
      if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &limit) < 0) report(rep[1], kRlimit, errno);
    }
    // Before any filter, which may not allow close_range.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) report(rep[1], kFds, errno);
    // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter: load it while we have it.
    if (!seccomp.filter.empty() && !spec.security.no_new_privileges)
      if (int e = load_seccomp(seccomp)) report(rep[1], kSeccomp, e);
    if (int e = prepare_keep_caps()) report(rep[1], kCaps, e);
    if (::setgroups(groups.size(), groups.data()) < 0 || ::setresgid(gid, gid, gid) < 0 ||
        ::setresuid(uid, uid, uid) < 0)
      report(rep[1], kIds, errno);
    if (int e = apply_capabilities(caps)) report(rep[1], kCaps, e);
    if (spec.security.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
      report(rep[1], kNnp, errno);
    if (!seccomp.filter.empty() && spec.security.no_new_privileges)
      if (int e = load_seccomp(seccomp)) report(rep[1], kSeccomp, e);
    if (std::strchr(argv[0], '/')) {
      ::execve(argv[0], argv.data(), envp.data());
      report(rep[1], kExecve, errno);
    }
    char buf[4096];
    int first = ENOENT;
    for (const char* p = path; *p;) {
      const char* end = std::strchr(p, ':');
      size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
      size_t len = std::strlen(argv[0]);
      if (n + len + 2 < sizeof buf) {
        std::memcpy(buf, p, n);
        buf[n] = '/';
        std::memcpy(buf + n + 1, argv[0], len + 1);
        ::execve(buf, argv.data(), envp.data());
        if (errno == EACCES) first = EACCES;
      }
      if (!end) break;
      p = end + 1;
    }
    report(rep[1], kExecve, first);
  }
  sync_r.reset();
  rep_w.reset();
  auto reap = ScopeExit([&] {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  });
  stdio->close_container_fds();
  SLW_TRY(cgroup.add_process(child));
  if (::write(sync_w.get(), "g", 1) != 1) return fail_errno("start exec process");
  ExecReport r{};
  ssize_t n = ::read(rep_r.get(), &r, sizeof r);
  if (n == sizeof r) {
    const std::string& command = options.args[0];
    if (r.step == kExecve && r.error == ENOENT)
      return std::unexpected(Error(r.error, fmt::format("exec {}: executable file not found in $PATH", command),
                                   ErrorKind::kCommandNotFound));
    return std::unexpected(Error(r.error, fmt::format("{} {}: {}", step_name(r.step), command, std::strerror(r.error)),
                                 r.step == kExecve ? ErrorKind::kCommandNotExecutable : ErrorKind::kOther));
  }
  reap.release();
  if (options.started) SLW_TRY(options.started(child));
  if (options.detach) return 0;
  // Forward the usual termination signals to the exec'd process while waiting for it; the pidfd
  // wakes us the moment it exits.
  UniqueFd child_fd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  sigset_t fwd, old;
  sigemptyset(&fwd);
  for (int sig : kForwardedSignals) sigaddset(&fwd, sig);
  ::sigprocmask(SIG_BLOCK, &fwd, &old);
  UniqueFd sigfd(::signalfd(-1, &fwd, SFD_CLOEXEC));
  for (;;) {
    pollfd fds[2] = {{child_fd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    signalfd_siginfo si;
    if (fds[1].revents && ::read(sigfd.get(), &si, sizeof si) == sizeof si)
      ::kill(child, static_cast<int>(si.ssi_signo));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  // What the process wrote is copied out; a child it left running in the background (and
  // holding the pipes) does not hold up the exec for longer than this.
  stdio->finish(std::chrono::milliseconds(200));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace slipway::runtime
