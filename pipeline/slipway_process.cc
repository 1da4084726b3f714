#include "pipeline/slipway_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace slipway::pipeline {
namespace {

int status_to_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 125;
}

// Everything the child needs, prepared before fork: it may only make async-signal-safe calls.
struct ExecPlan {
  std::vector<std::string> argv_storage, env_storage;
  std::vector<char*> argv, envp;
};

ExecPlan plan_exec(const SlipwayInvocation& how, const std::vector<std::string>& args) {
  ExecPlan p;
  p.argv_storage = {"slipway", "--root", how.root};
  if (!how.run_root.empty()) {
    p.argv_storage.push_back("--run-root");
    p.argv_storage.push_back(how.run_root);
  }
  p.argv_storage.insert(p.argv_storage.end(), args.begin(), args.end());
  for (char** e = environ; *e; ++e) {
    std::string_view kv = *e;
    bool overridden = false;
    for (const auto& extra : how.env)
      overridden |= kv.substr(0, kv.find('=') + 1) == std::string_view(extra).substr(0, extra.find('=') + 1);
    if (!overridden) p.env_storage.emplace_back(kv);
  }
  p.env_storage.insert(p.env_storage.end(), how.env.begin(), how.env.end());
  for (auto& a : p.argv_storage) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.env_storage) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  return p;
}

// The pids of live children, for kill_all_children(): a fixed table of atomics, since a signal
// handler reads it. A runner has a handful of children at a time.
constexpr size_t kMaxChildren = 64;
std::atomic<pid_t> g_children[kMaxChildren];

void remember_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
}

void forget_child(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

void kill_all_children() {
  for (auto& slot : g_children)
    if (pid_t pid = slot.load(); pid > 0) ::kill(pid, SIGKILL);
}

ChildProcess::ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {
  remember_child(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), pidfd_(std::move(other.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, 0);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0) return;
  signal(SIGKILL);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  forget_child(pid_);
  pid_ = 0;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && pidfd_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
}

Result<std::optional<int>> ChildProcess::wait(std::optional<std::chrono::milliseconds> timeout) {
  if (pid_ <= 0) return fail("wait: the process was already reaped");
  if (timeout) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, static_cast<int>(timeout->count()))) < 0 && errno == EINTR) {
    }
    if (n < 0) return fail_errno("poll a child process");
    if (n == 0) return std::optional<int>();
  }
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  if (r < 0) return fail_errno(fmt::format("wait for process {}", pid_));
  forget_child(pid_);
  pid_ = 0;
  return std::optional<int>(status_to_code(status));
}

Result<ChildProcess> spawn_slipway(const SlipwayInvocation& how, const std::vector<std::string>& args,
                                   int log_fd) {
  ExecPlan plan = plan_exec(how, args);
  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd) return fail_errno("open /dev/null");
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    // A runner that dies (even by SIGKILL) takes its steps with it; their containers follow
    // through their own PDEATHSIG.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);
    ::dup2(null_fd.get(), STDIN_FILENO);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::execve(how.binary.c_str(), plan.argv.data(), plan.envp.data());
    ::_exit(127);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    int saved = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail_errno("pidfd_open", saved);
  }
  return ChildProcess(pid, std::move(pidfd));
}

Result<int> run_slipway(const SlipwayInvocation& how, const std::vector<std::string>& args, int log_fd) {
  ChildProcess child = SLW_TRY(spawn_slipway(how, args, log_fd));
  auto code = SLW_TRY(child.wait());
  return *code;
}

std::vector<std::string> run_arguments(const RunOptions& o) {
  std::vector<std::string> a = {"run"};
  auto flag = [&a](bool on, const char* name) {
    if (on) a.emplace_back(name);
  };
  auto option = [&a](const std::string& value, const char* name) {
    if (value.empty()) return;
    a.emplace_back(name);
    a.push_back(value);
  };
  auto each = [&a](const std::vector<std::string>& values, const char* name) {
    for (const auto& v : values) {
      a.emplace_back(name);
      a.push_back(v);
    }
  };
  flag(o.remove, "--rm");
  flag(o.detach, "--detach");
  flag(o.init, "--init");
  flag(o.read_only, "--read-only");
  option(o.name, "--name");
  option(o.hostname, "--hostname");
  each(o.env_files, "--env-file");
  each(o.env, "--env");
  each(o.add_hosts, "--add-host");
  option(o.workdir, "--workdir");
  option(o.user, "--user");
  each(o.volumes, "--volume");
  if (o.entrypoint) {
    a.emplace_back("--entrypoint");
    a.push_back(*o.entrypoint);
  }
  option(o.memory, "--memory");
  if (o.cpus) option(fmt::format("{}", *o.cpus), "--cpus");
  if (o.pids_limit) option(std::to_string(*o.pids_limit), "--pids-limit");
  if (o.timeout_seconds) option(fmt::format("{}", *o.timeout_seconds), "--timeout");
  each(o.cap_add, "--cap-add");
  each(o.cap_drop, "--cap-drop");
  if (o.seccomp != "default") option(o.seccomp, "--seccomp");
  option(o.net, "--net");
  option(o.ip, "--ip");
  each(o.aliases, "--alias");
  each(o.forwards, "--forward");
  each(o.publish, "--publish");
  option(o.health_cmd, "--health-cmd");
  option(o.health_interval, "--health-interval");
  option(o.health_timeout, "--health-timeout");
  option(o.health_start_period, "--health-start-period");
  option(o.health_start_interval, "--health-start-interval");
  if (o.health_retries) option(std::to_string(*o.health_retries), "--health-retries");
  flag(o.no_healthcheck, "--no-healthcheck");
  each(o.log_opts, "--log-opt");
  each(o.storage_opts, "--storage-opt");
  if (o.pull != "missing") option(o.pull, "--pull");
  if (!o.rootfs.empty()) {
    option(o.rootfs, "--rootfs");
    a.emplace_back("--");
  } else {
    a.push_back(o.image);
  }
  a.insert(a.end(), o.command.begin(), o.command.end());
  return a;
}

}  // namespace slipway::pipeline
