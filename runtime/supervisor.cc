#include "runtime/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/step_clock.h"
#include "base/scope_exit.h"

namespace slipway::runtime {
namespace {

WaitOptions wait_options(const ContainerRecord& record, bool forward_signals,
                         const ContainerHooks& hooks) {
  WaitOptions w;
  w.forward_signals = forward_signals;
  if (hooks.holder_pidfd) w.holder_pidfd = hooks.holder_pidfd();
  if (record.timeout_ms) w.timeout = std::chrono::milliseconds(*record.timeout_ms);
  return w;
}

ContainerState running_state(const StartedContainer& c) {
  ContainerState s;
  s.status = ContainerStatus::kRunning;
  s.pid = c.pid;
  s.pid_start_time = process_start_time(c.pid);
  s.supervisor_pid = ::getpid();
  s.supervisor_start_time = process_start_time(s.supervisor_pid);
  s.started_at = now_rfc3339();
  return s;
}

// The state after an exit; `status` is kExited, or kRestarting when the supervisor starts it again
// (one write, so a reader never sees an exit that is not final).
ContainerState exit_state(ContainerState s, const ExitStatus& exit, ContainerStatus status = ContainerStatus::kExited) {
  s.status = status;
  s.exit_code = exit.exit_code;
  s.oom_killed = exit.oom_killed;
  s.timed_out = exit.timed_out;
  if (exit.holder_exited) s.error = "stopped: the container whose network it shared exited";
  s.finished_at = now_rfc3339();
  return s;
}

// The state of a container that could not be started (or waited for): exit code 125 and why.
ContainerState failed_state(ContainerState s, const std::string& why) {
  s.status = ContainerStatus::kExited;
  s.exit_code = 125;
  s.error = why;
  s.finished_at = now_rfc3339();
  return s;
}

// Writes the final state of a run that failed to start or has ended. What the container held (its
// network lease, names and veth) is released first, so whoever sees the exit (`wait`, `restart`,
// `stop`, `rm`) finds it free; an --rm record goes last.
void finish(const ContainerStore& store, const ContainerRecord& record, const ContainerHooks& hooks,
            const ContainerState& final_state) {
  if (hooks.finished) hooks.finished();
  if (auto st = store.save_state(record.id, final_state); !st) log::warn("{}", st.error().message());
  if (!record.auto_remove) return;
  if (auto st = store.remove(record); !st) log::warn("{}", st.error().message());
}

// Sleeps for `delay` unless a stop is asked for first (checked every 50 ms); false then.
bool back_off(const ContainerStore& store, const ContainerRecord& record, std::chrono::milliseconds delay) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (store.stop_requested(record.id)) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
  }
  return !store.stop_requested(record.id);
}

}  // namespace

static std::string log_dir(const ContainerStore& store, const ContainerRecord& record) {
  return record.data_dir.empty() ? store.dir(record.id) : record.data_dir;
}
std::string stdout_log(const ContainerStore& store, const ContainerRecord& record) {
  return fs::join(log_dir(store, record), "stdout.log");
}
std::string stderr_log(const ContainerStore& store, const ContainerRecord& record) {
  return fs::join(log_dir(store, record), "stderr.log");
}

// A detached container's stdio: the container writes into pipes (or its terminal); this process
// writes the logs, capped and rotated, appending across restarts.
static Result<StdioTargets> detached_stdio(const ContainerStore& store, const ContainerRecord& record) {
  const LogLimits& limits = record.logs;
  auto out = SLW_TRY(RotatingLogSink::open(stdout_log(store, record), limits.max_bytes, limits.max_files));
  auto err = SLW_TRY(RotatingLogSink::open(stderr_log(store, record), limits.max_bytes, limits.max_files));
  StdioTargets stdio{record.open_stdin ? kStdinHeldOpen : -1, std::move(out), std::move(err)};
  stdio.terminal = record.spec.process.terminal;
  return stdio;
}

// Starts the container and runs the started hook; a failing hook stops it again.
static Result<StartedContainer> start_with_hooks(const ContainerRecord& record, const ContainerHooks& hooks,
                                                 StdioTargets stdio) {
  LaunchOptions launch{std::move(stdio), hooks.before_exec};
  StartedContainer c = SLW_TRY(start_container(record.spec, launch));
  if (hooks.started) {
    if (auto st = hooks.started(c); !st) {
      (void)c.cgroup.kill_all(SIGKILL);
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
      (void)c.cgroup.destroy();
      return std::unexpected(st.error());
    }
  }
  return c;
}

// Health checks for one run of the container; none without a check or a way to probe.
static std::unique_ptr<HealthMonitor> monitor_health(const ContainerStore& store, const ContainerRecord& record,
                                                     const ContainerHooks& hooks) {
  if (!record.health || !hooks.health_probe) return nullptr;
  return std::make_unique<HealthMonitor>(*record.health, hooks.health_probe,
                                         [store, id = record.id](const HealthState& h) {
                                           if (auto st = store.save_health(id, h); !st)
                                             log::warn("{}", st.error().message());
                                         });
}

// The detached supervisor's life: waits for the container and, as its restart policy says,
// starts it again after a back-off, until it stays down.
static void supervise_with_restarts(const ContainerStore& store, const ContainerRecord& record,
                                    const ContainerHooks& hooks, StartedContainer started, ContainerState s) {
  int in_a_row = 0;
  for (;;) {
    auto began = std::chrono::steady_clock::now();
    auto health = monitor_health(store, record, hooks);
    auto exit = wait_container(started, wait_options(record, false, hooks));
    health.reset();
    if (!exit) return finish(store, record, hooks, failed_state(s, exit.error().message()));
    if (!should_restart(record.restart, exit->exit_code, s.restart_count, store.stop_requested(record.id)))
      return finish(store, record, hooks, exit_state(s, *exit));
    s.pid = 0;
    s = exit_state(s, *exit, ContainerStatus::kRestarting);
    if (auto st = store.save_state(record.id, s); !st) log::warn("{}", st.error().message());
    if (std::chrono::steady_clock::now() - began >= kRestartResetAfter) in_a_row = 0;
    std::chrono::milliseconds delay = restart_delay(in_a_row++);
    if (hooks.stopped) hooks.stopped();
    if (!back_off(store, record, delay)) {
      s.status = ContainerStatus::kExited;
      return finish(store, record, hooks, s);
    }
    auto stdio = detached_stdio(store, record);
    auto again = stdio ? start_with_hooks(record, hooks, std::move(*stdio))
                       : Result<StartedContainer>(std::unexpected(stdio.error()));
    if (!again) {
      s.status = ContainerStatus::kExited;
      s.exit_code = 125;
      s.error = again.error().message();
      return finish(store, record, hooks, s);
    }
    int restarts = s.restart_count + 1;
    s = running_state(*again);
    s.restart_count = restarts;
    (void)store.save_state(record.id, s);
    started = std::move(*again);
  }
}

Result<ExitStatus> run_foreground(const ContainerStore& store, const ContainerRecord& record,
                                  const ContainerHooks& hooks, StdioTargets stdio) {
  // Block the signals wait_container forwards before any hook starts a thread: threads inherit the
  // mask, so none of them can take a SIGINT meant for the container and die of it.
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  for (int sig : kForwardedSignals) sigaddset(&forwarded, sig);
  ::pthread_sigmask(SIG_BLOCK, &forwarded, &old);
  auto restore = ScopeExit([&] { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); });
  stdio.terminal = record.spec.process.terminal;
  auto started = start_with_hooks(record, hooks, std::move(stdio));
  step_clock::mark("started: the command runs");
  if (!started) {
    finish(store, record, hooks, failed_state({}, started.error().message()));
    return std::unexpected(started.error());
  }
  ContainerState s = running_state(*started);
  if (auto st = store.save_state(record.id, s); !st) log::warn("{}", st.error().message());
  auto health = monitor_health(store, record, hooks);
  step_clock::mark("running state saved");
  auto exit = wait_container(*started, wait_options(record, true, hooks));
  step_clock::mark("exit seen, cgroup removed");
  health.reset();
  if (!exit) return std::unexpected(exit.error());
  finish(store, record, hooks, exit_state(s, *exit));
  step_clock::mark("finished: network released, final state saved");
  return exit;
}

Status run_detached(const ContainerStore& store, const ContainerRecord& record,
                    const ContainerHooks& hooks) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) < 0) return fail_errno("create supervisor pipe");
  UniqueFd ready_read(ready[0]), ready_write(ready[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork supervisor");
  if (pid == 0) {
    // The supervisor: its own session, no terminal, stdio to /dev/null; it reports "ok" or the
    // error on the pipe, then waits for the container.
    ready_read.reset();
    step_clock::stop();
    ::setsid();
    // Claim the record first: `gc` leaves a not-yet-started record alone while its supervisor lives,
    // even once the CLI that created it is gone.
    ContainerState claim;
    claim.supervisor_pid = ::getpid();
    claim.supervisor_start_time = process_start_time(claim.supervisor_pid);
    (void)store.save_state(record.id, claim);
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    std::string message;
    Result<StartedContainer> started = std::unexpected(Error());
    auto stdio = detached_stdio(store, record);
    if (!stdio) {
      message = stdio.error().message();
    } else {
      started = start_with_hooks(record, hooks, std::move(*stdio));
      if (!started) message = started.error().message();
    }
    if (!started) {
      finish(store, record, hooks, failed_state(claim, message));
      (void)!::write(ready_write.get(), message.data(), message.size());
      ::_exit(1);
    }
    ContainerState s = running_state(*started);
    (void)store.save_state(record.id, s);
    (void)!::write(ready_write.get(), "ok", 2);
    ready_write.reset();
    supervise_with_restarts(store, record, hooks, std::move(*started), s);
    ::_exit(0);
  }
  ready_write.reset();
  std::string reply = fs::read_all(ready_read.get(), "supervisor pipe").value_or("");
  if (reply == "ok") return {};
  if (reply.empty()) {
    ::waitpid(pid, nullptr, WNOHANG);
    return fail("container supervisor died before the container started");
  }
  return fail("{}", reply);
}

}  // namespace slipway::runtime
