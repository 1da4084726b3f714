#include "runtime/container_ops.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "runtime/cgroups.h"

namespace slipway::runtime {
namespace {

Result<UniqueFd> open_pidfd(const ContainerState& s) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, s.pid, 0));
  if (fd < 0) return fail_errno(fmt::format("open pidfd of {}", s.pid));
  UniqueFd pidfd(fd);
  // The pid could have been reused between reading the state and pidfd_open: check once more.
  if (!process_alive(s.pid, s.pid_start_time)) return fail("process {} has exited", s.pid);
  return pidfd;
}

// Waits until pred() or the deadline; polls because the waited-for process is not our child.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool supervisor_done(const ContainerStore& store, const ContainerRecord& r) {
  auto s = store.load_state(r.id);
  if (!s) return true;  // record removed (--rm)
  bool supervised = s->status == ContainerStatus::kRunning || s->status == ContainerStatus::kRestarting;
  return !supervised || !process_alive(s->supervisor_pid, s->supervisor_start_time);
}

Status destroy_cgroup(const std::string& id) {
  auto layout = SLW_TRY(detect_cgroup_layout());
  auto cg = Cgroup::open_existing(layout, container_cgroup_name(id));
  if (!cg) return {};  // never created or already gone
  return cg->destroy();
}

}  // namespace

bool container_running(const ContainerState& s) {
  return s.status == ContainerStatus::kRunning && process_alive(s.pid, s.pid_start_time);
}

Status signal_container(const ContainerStore& store, const ContainerRecord& record, int sig) {
  ContainerState s = SLW_TRY(store.load_state(record.id));
  if (!container_running(s)) return fail("container {} is not running", record.name);
  UniqueFd pidfd = SLW_TRY(open_pidfd(s));
  // Killed on purpose: its restart policy does not bring it back (a SIGHUP to reload does not count).
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
    SLW_TRY(store.mark_stop_requested(record.id));
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
    return fail_errno(fmt::format("send signal {} to container {}", sig, record.name));
  return {};
}

Status stop_container(const ContainerStore& store, const ContainerRecord& record,
                      std::chrono::milliseconds grace) {
  ContainerState s = SLW_TRY(store.load_state(record.id));
  // First, so a supervisor between restarts gives up too.
  if (s.status == ContainerStatus::kRunning || s.status == ContainerStatus::kRestarting)
    SLW_TRY(store.mark_stop_requested(record.id));
  if (container_running(s)) {
    auto pidfd = open_pidfd(s);
    if (pidfd) {
      ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGTERM, nullptr, 0);
      pollfd p{pidfd->get(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(grace.count()));
      if (r == 0) {
        // Killing PID 1 makes the kernel kill the whole pid namespace.
        ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
        ::poll(&p, 1, 10000);
      }
    }
  }
  // A supervisor between restarts may have started it again just before it saw the request: a
  // container started after the stop was asked for is killed too.
  auto stopped = [&] {
    if (supervisor_done(store, record)) return true;
    auto now = store.load_state(record.id);
    if (now && now->pid != s.pid && container_running(*now))
      if (auto pidfd = open_pidfd(*now)) ::syscall(SYS_pidfd_send_signal, pidfd->get(), SIGKILL, nullptr, 0);
    return false;
  };
  if (!wait_until(stopped, std::chrono::seconds(10)))
    return fail("container {} did not stop within 10 s of SIGKILL", record.name);
  return {};
}

Status remove_container(const ContainerStore& store, const ContainerRecord& record, bool force) {
  ContainerState s = SLW_TRY(store.load_state(record.id));
  bool restarting = s.status == ContainerStatus::kRestarting &&
                    process_alive(s.supervisor_pid, s.supervisor_start_time);
  if (container_running(s) || restarting) {
    if (!force)
      return fail("container {} is {}: stop it first or use rm -f", record.name,
                  restarting ? "restarting" : "running");
    SLW_TRY(stop_container(store, record, std::chrono::milliseconds(0)));
  } else if (s.status == ContainerStatus::kRunning &&
             process_alive(s.supervisor_pid, s.supervisor_start_time)) {
    // PID 1 is gone but its supervisor is still recording the exit; let it finish.
    wait_until([&] { return supervisor_done(store, record); }, std::chrono::seconds(5));
  }
  SLW_TRY(destroy_cgroup(record.id));
  if (!fs::exists(store.dir(record.id))) return {};  // removed by its own --rm supervisor
  return store.remove(record);
}

namespace {

// Whether some process may still act on the record: its container, the supervisor that waits for
// it, or (before the container started) the process that created the record.
bool record_in_use(const ContainerRecord& r, const ContainerState& s) {
  switch (s.status) {
    case ContainerStatus::kRestarting:
    case ContainerStatus::kRunning:
      return process_alive(s.pid, s.pid_start_time) ||
             process_alive(s.supervisor_pid, s.supervisor_start_time);
    case ContainerStatus::kCreated:
      return process_alive(r.creator_pid, r.creator_start_time) ||
             process_alive(s.supervisor_pid, s.supervisor_start_time);
    case ContainerStatus::kExited:
      // Only an --rm record outlives its exit, and only while its supervisor removes it.
      return !r.auto_remove || process_alive(s.supervisor_pid, s.supervisor_start_time) ||
             process_alive(r.creator_pid, r.creator_start_time);
  }
  return true;
}

}  // namespace

Result<GcReport> collect_garbage(const ContainerStore& store) {
  GcReport report;
  auto records = SLW_TRY(store.list());
  for (const auto& r : records) {
    ContainerState s = SLW_TRY(store.load_state(r.id));
    if (record_in_use(r, s)) continue;
    // A start killed half-way may have left a cgroup (and processes in it) behind.
    SLW_TRY_CTX(destroy_cgroup(r.id), "gc container {}", r.id.substr(0, 12));
    // A create killed before it linked the name: nobody can name the record, so it goes too.
    auto by_name = store.find(r.name);
    bool named = by_name && by_name->id == r.id;
    if (r.auto_remove || (s.status == ContainerStatus::kCreated && !named)) {
      SLW_TRY(store.remove(r));
    } else if (s.status == ContainerStatus::kCreated) {
      ContainerState dead = s;
      dead.status = ContainerStatus::kExited;
      dead.exit_code = 125;
      dead.error = "the runtime that was starting it was killed";
      SLW_TRY(store.save_state(r.id, dead));
    } else if (s.status == ContainerStatus::kRunning) {
      SLW_TRY(store.save_state(r.id, SLW_TRY(store.current_state(r.id))));
    }
    report.containers.push_back(r.id);
  }
  return report;
}

}  // namespace slipway::runtime
