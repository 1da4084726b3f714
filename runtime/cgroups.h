// Cgroups for one container: detect the host's layout (v1, hybrid, v2), turn resource limits into
// an ordered list of cgroup file writes (pure, unit-tested), and own the container's cgroup
// directories (create, place processes, read OOM kills, signal every member, remove).
//
// Swap: a container with --memory gets no swap, so the limit is what it can use, as with Docker's
// --memory-swap equal to --memory. v1 sets memory.memsw.limit_in_bytes (memory plus swap) to the
// memory limit, v2 sets memory.swap.max to 0. Without swap accounting in the kernel those files are
// absent and the write is skipped: swap cannot be limited there at all.
// Cgroup files are written directly, with no systemd or libcgroup in the path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::runtime {

enum class CgroupVersion {
  kV1,      // only v1 hierarchies
  kHybrid,  // v1 hierarchies for the controllers plus a cgroup2 mount (usually without controllers)
  kV2,      // unified hierarchy
};

std::string_view to_string(CgroupVersion v);

struct CgroupLayout {
  CgroupVersion version = CgroupVersion::kV2;
  // v1 and hybrid: controller ("memory", "cpu", ...) -> mount point of its hierarchy. Co-mounted
  // controllers (cpu,cpuacct) share one mount point.
  std::map<std::string, std::string> v1_mounts;
  // The cgroup2 mount point: the root of every container cgroup in v2; recorded but not used for
  // controllers in hybrid mode.
  std::string v2_root;

  bool uses_v1() const { return version != CgroupVersion::kV2; }
};

// Reads the layout from the text of /proc/self/mountinfo. Fails when no cgroup file system is
// mounted or a line is malformed.
Result<CgroupLayout> parse_cgroup_layout(std::string_view mountinfo);
Result<CgroupLayout> detect_cgroup_layout();

// The {} initializers let callers write CgroupLimits{.cpus = 1} without g++ 12 warning about the
// fields left out.
struct CgroupLimits {
  std::optional<int64_t> memory_bytes{};
  std::optional<double> cpus{};  // CPU time as a number of CPUs: 0.5 is half of one CPU
  std::optional<int64_t> pids{};
  // A default limit rather than one the user asked for: dropped on a host without the pids
  // controller instead of failing the start.
  bool pids_optional = false;
  // The CPU weight against other cgroups (v1 cpu.shares, 2..262144; v2 cpu.weight from it).
  std::optional<uint64_t> cpu_shares{};
  // Device rules applied in order after denying all and before the standard allows (v1 devices
  // controller): "allow c 10:229 rwm", "deny a". Not applied on v2 (that needs an eBPF program).
  std::vector<std::string> device_rules{};
  // The CFS quota and period as given (an OCI bundle's), instead of `cpus`; a quota of -1 is none.
  std::optional<int64_t> cpu_quota_us{};
  std::optional<uint64_t> cpu_period_us{};
  // The CPUs and memory nodes it may use ("0-3", "0"): the cpuset controller, made only then.
  std::string cpuset_cpus{};
  std::string cpuset_mems{};
  // A v1 cpu and cpuacct directory even without a CPU limit, for CPU usage figures (OCI
  // containers: `events --stats`, `update`). v2 has one hierarchy, cpu included when enabled.
  bool cpu_accounting = false;
};

// One write of a limit: `value` into the file `file` of the container's `controller` directory.
struct CgroupWrite {
  std::string controller;  // "memory", "cpu", "pids"
  std::string file;        // e.g. "memory.limit_in_bytes", relative to the cgroup directory
  std::string value;
  bool skip_if_missing = false;  // swap files, absent without swap accounting
  bool controller_optional = false;  // dropped when the host lacks the controller

  bool operator==(const CgroupWrite&) const = default;
};

// The CFS period used for --cpus, in microseconds; the quota is cpus times this.
inline constexpr int64_t kCpuPeriodUs = 100000;

// The writes that apply `limits`, in the order they must happen (v1: memory before memsw, period
// before quota). kHybrid plans like kV1. Fails on a limit the kernel would reject or misread.
Result<std::vector<CgroupWrite>> plan_cgroup_writes(const CgroupLimits& limits, CgroupVersion v);

// The value of `key` in a flat-keyed cgroup file ("key value" lines: memory.events,
// memory.oom_control, cgroup.events); nullopt when the key is absent or not a number.
std::optional<int64_t> parse_cgroup_key(std::string_view text, std::string_view key);
// The pids in the text of a cgroup.procs file, one per line.
Result<std::vector<pid_t>> parse_cgroup_procs(std::string_view text);

// Every container cgroup slipway makes lives below this directory in each hierarchy.
inline constexpr std::string_view kCgroupParent = "slipway";

// The v1 devices.allow rules of a container (everything else denied): Docker's defaults, i.e.
// mknod of any node, and read/write only of null, zero, full, random, urandom, tty, console,
// ptmx, the pts devices and tun. On v2 hosts this needs an eBPF device program (not done yet).
const std::vector<std::string_view>& container_device_rules();
// "slipway/<id>": the cgroup name of a container.
std::string container_cgroup_name(std::string_view container_id);

// Owns one container's cgroup: one directory per v1 hierarchy (memory, cpu, cpuacct, pids, freezer,
// those mounted), or one directory in v2. Move-only. The destructor destroys it (best effort,
// logged) unless release() was called.
// How a new process gets into a cgroup without a migration: moving a whole process (writing its
// pid to cgroup.procs) takes a global lock whose first use waits for an RCU grace period, 8-15 ms
// here. A single-threaded child that writes "0" to v1 "tasks" files moves only its own thread and
// skips that lock; on v2, clone3(CLONE_INTO_CGROUP) starts the child inside.
struct CgroupJoin {
  std::vector<UniqueFd> v1_task_files;  // the child writes "0" to each
  UniqueFd v2_dir;                      // for clone3's cgroup field
};

class Cgroup {
 public:
  // Creates `name` (e.g. "slipway/<id>") and applies `limits`. Fails, leaving nothing behind, when
  // a limit needs a controller the host lacks or the cgroup already exists.
  static Result<Cgroup> create(const CgroupLayout& layout, const std::string& name,
                               const CgroupLimits& limits);
  // Opens a cgroup made earlier, possibly by another process, from the directories that exist.
  // The result owns it like one from create(): call release() when only looking.
  static Result<Cgroup> open_existing(const CgroupLayout& layout, const std::string& name);

  Cgroup(Cgroup&& other) noexcept;
  Cgroup& operator=(Cgroup&& other) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  const std::string& name() const { return name_; }
  CgroupVersion version() const { return version_; }
  // The cgroup's directory in each hierarchy, sorted.
  std::vector<std::string> paths() const;

  // Moves the whole thread group of `pid` into the cgroup in every hierarchy.
  Status add_process(pid_t pid);
  // Files for a child to join this cgroup by itself (see CgroupJoin).
  Result<CgroupJoin> open_join() const;
  // Processes in the cgroup or its descendants, sorted, without duplicates.
  Result<std::vector<pid_t>> pids() const;
  // True when the kernel's OOM killer killed a process in this cgroup (v1: memory.oom_control
  // oom_kill, kernel >= 4.13; v2: memory.events oom_kill). Needs the memory controller.
  Result<bool> oom_killed() const;
  // Writes new limits into the running cgroup (`slipway oci update`); device rules are not
  // changed. Fails naming a controller the cgroup has no directory in.
  Status update(const CgroupLimits& limits);
  // Usage figures for `events --stats`: memory in bytes, CPU time in nanoseconds, pids; -1 where
  // the controller is absent.
  struct Usage {
    int64_t memory_bytes = -1;
    int64_t memory_limit = -1;
    int64_t cpu_ns = -1;
    int64_t pids = -1;
  };
  Usage usage() const;
  // Sends `sig` to every process in the cgroup, frozen first where a freezer exists so that a fork
  // cannot slip a new process past the signal. For SIGKILL, returns once the cgroup is empty (or
  // fails after a bounded wait).
  Status kill_all(int sig);
  // Kills every member, then removes the directories (descendants first) and the ancestors named in
  // `name` that become empty. Idempotent.
  Status destroy();
  // Freezes every member (`pause`) or thaws them (`resume`); fails when the host has no freezer.
  Status freeze(bool frozen);
  // Whether the members are frozen now (false without a freezer).
  bool frozen() const;
  // Gives up ownership: the destructor will leave the cgroup alone (a supervisor takes it over).
  void release() { owned_ = false; }

 private:
  // The cgroup's place in one hierarchy.
  struct Hierarchy {
    std::string mount;                     // the hierarchy's mount point (the v2 root)
    std::string dir;                       // mount + "/" + name
    std::vector<std::string> controllers;  // the controllers slipway uses through it
  };

  Cgroup(CgroupVersion version, std::string name) : version_(version), name_(std::move(name)) {}
  const Hierarchy* find(std::string_view controller) const;
  Status signal_members(int sig);
  Status set_frozen(bool frozen);
  std::string freezer_file() const;  // freezer.state or cgroup.freeze; empty without a freezer
  // The processes still in the cgroup at `deadline`, or none as soon as it is empty.
  Result<std::vector<pid_t>> wait_until_empty(std::chrono::steady_clock::time_point deadline) const;
  Status remove_dirs();
  // The common end: every member already gone, no child cgroups. One rmdir per hierarchy (the
  // freezer's last, so a refusal leaves it for kill_all); false when one refused.
  bool remove_if_empty();
  // slipway/... ancestors of this cgroup in `h` once empty; another owner's parents stay.
  void remove_own_parents(const Hierarchy& h);
  void destroy_quietly();

  CgroupVersion version_ = CgroupVersion::kV2;
  std::string name_;
  std::vector<Hierarchy> hierarchies_;
  bool owned_ = true;
  bool destroyed_ = false;
};

}  // namespace slipway::runtime
