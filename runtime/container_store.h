// Records of containers under <root>/containers/<id>/: what was asked (config.json), what happened
// (state.json), logs, and the overlay upper/work dirs. Names are unique through
// <root>/containers/names/<name> symlinks, made atomically with symlink(2).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_spec.h"
#include "runtime/health.h"
#include "runtime/restart_policy.h"

namespace slipway::runtime {

// Caps on a detached container's log files, per stream (Docker's max-size and max-file). The
// defaults are those of Docker's "local" log driver: a chatty job cannot fill the host's disk.
struct LogLimits {
  uint64_t max_bytes = 20 * 1024 * 1024;  // 0: unlimited
  int max_files = 5;
};

struct ContainerRecord {
  std::string id;
  std::string name;
  std::string image;     // as the user named it; empty for --rootfs
  std::string image_id;  // config digest
  std::string created;   // RFC 3339 UTC
  bool auto_remove = false;
  // -i: a detached container's stdin stays open (with nothing ever written to it), as Docker's.
  bool open_stdin = false;
  RestartPolicy restart;  // for detached containers: their supervisor starts them again
  std::optional<HealthCheck> health;  // probed by the process that waits for the container
  std::optional<int64_t> timeout_ms;
  LogLimits logs;
  // The process that created the record: a record that never started and whose creator is gone
  // was left by a killed `run`, and `gc` removes it.
  pid_t creator_pid = 0;
  uint64_t creator_start_time = 0;
  // Bulk data on disk (writable layer, copy-on-write volumes, -d logs), removed with the record;
  // the state dir on the run root's tmpfs keeps only small files. Empty: all in the state dir.
  std::string data_dir;
  ContainerSpec spec;
};

// kRestarting: exited, and its supervisor starts it again after a back-off (--restart).
enum class ContainerStatus { kCreated, kRunning, kRestarting, kExited };
std::string_view to_string(ContainerStatus s);

struct ContainerState {
  ContainerStatus status = ContainerStatus::kCreated;
  pid_t pid = 0;                // PID 1 of the container, in the host's pid namespace
  uint64_t pid_start_time = 0;  // /proc/PID/stat starttime: tells a reused pid apart
  pid_t supervisor_pid = 0;     // the process that waits for PID 1 (run or its detached supervisor)
  uint64_t supervisor_start_time = 0;
  int exit_code = 0;
  bool oom_killed = false;
  bool timed_out = false;
  std::string started_at;
  std::string finished_at;
  std::string error;  // why it failed to start, if it did
  int restart_count = 0;  // times its supervisor started it again (--restart)
  // Not in state.json: current_state() reads it from health.json (containers with a health check).
  std::optional<HealthState> health;
};

// Start time of a process in clock ticks since boot, or 0 if it does not exist or is a zombie.
uint64_t process_start_time(pid_t pid);
// True when pid exists and is still the process that had start_time.
bool process_alive(pid_t pid, uint64_t start_time);
std::string now_rfc3339();

class ContainerStore {
 public:
  static Result<ContainerStore> open(const std::string& root);

  // Reserves the name (error if taken) and creates the container's dir with its config. The dir
  // is filled under a hidden name (.<id>.<pid>) and renamed, so a record dir under its id is
  // always complete; remove() renames it back to a hidden name before it deletes it.
  Result<ContainerRecord> create(ContainerRecord record);
  // By full id, unique id prefix, or name.
  Result<ContainerRecord> find(std::string_view name_or_id) const;
  Result<std::vector<ContainerRecord>> list() const;
  Status save_state(const std::string& id, const ContainerState& state) const;
  Result<ContainerState> load_state(const std::string& id) const;
  // health.json: written by the health monitor of the process that waits for the container.
  Status save_health(const std::string& id, const HealthState& health) const;
  std::optional<HealthState> load_health(const std::string& id) const;
  // Set by stop, kill and rm -f, so that the supervisor does not restart what was stopped on
  // purpose; cleared by start.
  Status mark_stop_requested(const std::string& id) const;
  void clear_stop_requested(const std::string& id) const;
  bool stop_requested(const std::string& id) const;
  // Removes the record, its name, its dir and its data dir (upper layer, logs).
  Status remove(const ContainerRecord& record) const;
  // The state as it is now: a running state whose container and supervisor are both gone becomes
  // exited with 137 (killed runtime, reboot). Read twice before deciding so, because a supervisor
  // records the exit and then exits: a reader of the older file must not outlive that.
  Result<ContainerState> current_state(const std::string& id) const;
  // For gc: the hidden dirs of creates and removes that were killed half-way (their pid is gone).
  // Returns their names.
  Result<std::vector<std::string>> remove_partial_records() const;

  std::string dir(const std::string& id) const;
  const std::string& root() const { return containers_; }

 private:
  explicit ContainerStore(std::string containers) : containers_(std::move(containers)) {}
  Status reserve_name(const ContainerRecord& record) const;
  std::string containers_;
};

}  // namespace slipway::runtime
