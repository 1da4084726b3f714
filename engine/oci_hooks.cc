#include "engine/oci_hooks.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "base/unique_fd.h"
#include "runtime/child_plan.h"

namespace slipway::engine {
namespace {

constexpr size_t kKeptOutput = 2048;  // of a failing hook's output, into its error

Status make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("create hook pipe");
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return {};
}

struct HookProcess {
  pid_t pid = -1;
  UniqueFd output;  // its stdout and stderr
};

Result<HookProcess> spawn_hook(const OciHook& hook, const std::string& state_json) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  UniqueFd in_read, in_write, out_read, out_write;
  SLW_TRY(make_pipe(in_read, in_write));
  SLW_TRY(make_pipe(out_read, out_write));
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork hook");
  if (pid == 0) {
    runtime::reset_signal_handling();
    if (::dup2(in_read.get(), 0) < 0 || ::dup2(out_write.get(), 1) < 0 || ::dup2(out_write.get(), 2) < 0) ::_exit(126);
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  in_read.reset();
  out_write.reset();
  // The state is small (far below a pipe's 64 KiB): one write, and a hook that never reads it
  // still runs.
  ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  (void)!::write(in_write.get(), state_json.data(), state_json.size());
  return HookProcess{pid, std::move(out_read)};
}

// Reads the hook's output until it exits or the deadline passes (then it is killed); returns its
// wait status, with *timed_out set.
int collect(HookProcess& p, std::optional<std::chrono::seconds> timeout, std::string& output, bool* timed_out) {
  auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::seconds(0));
  *timed_out = false;
  char buf[4096];
  for (;;) {
    int wait_ms = -1;
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd fd{p.output.get(), POLLIN, 0};
    int r = ::poll(&fd, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      *timed_out = true;
      ::kill(p.pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(p.output.get(), buf, sizeof buf);
    if (n <= 0) break;  // EOF: it (and whatever it started) closed the pipe
    output.append(buf, static_cast<size_t>(n));
    if (output.size() > kKeptOutput) output.erase(0, output.size() - kKeptOutput);
  }
  int status = 0;
  while (::waitpid(p.pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

}  // namespace

Status run_oci_hooks(const std::vector<OciHook>& hooks, std::string_view kind, const std::string& state_json) {
  for (const OciHook& hook : hooks) {
    std::string where = fmt::format("{} hook {}", kind, hook.path);
    HookProcess p = SLW_TRY_CTX(spawn_hook(hook, state_json), "{}", where);
    std::string output;
    bool timed_out = false;
    int status = collect(p, hook.timeout, output, &timed_out);
    if (timed_out) return fail("{}: did not finish within {} s", where, hook.timeout->count());
    std::string said = output.empty() ? "" : ": " + trimmed(output);
    if (WIFSIGNALED(status)) return fail("{}: killed by signal {}{}", where, WTERMSIG(status), said);
    if (WEXITSTATUS(status) == 127 && output.empty()) return fail("{}: could not be executed", where);
    if (WEXITSTATUS(status) != 0) return fail("{}: exited with code {}{}", where, WEXITSTATUS(status), said);
  }
  return {};
}

}  // namespace slipway::engine
