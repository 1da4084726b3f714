// The kernel half of cgroups: creating, filling, signalling and removing a container's cgroup
// directories in the v1 hierarchies or the v2 tree.
#include "runtime/cgroups.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "runtime/cgroup_files.h"

namespace slipway::runtime {

namespace {

using cgroup_files::CgroupFile;
using cgroup_files::collect_subtree;
using cgroup_files::enable_controllers;
using cgroup_files::inherit_cpusets;
using cgroup_files::list_subdirs;
using cgroup_files::make_leaf;
using cgroup_files::read_words;
using cgroup_files::write_cgroup_file;
using Clock = std::chrono::steady_clock;

// SIGKILLed processes leave within milliseconds; one stuck in uninterruptible sleep (a dead NFS
// server) may not, and then we report it instead of hanging.
constexpr auto kKillTimeout = std::chrono::seconds(10);
// How long one kill pass waits for its victims before looking for forks that raced it.
constexpr auto kKillPassWait = std::chrono::milliseconds(200);
// Tasks in uninterruptible sleep cannot freeze; after this we signal the rest anyway.
constexpr auto kFreezeTimeout = std::chrono::seconds(1);
// pidfds held at once while signalling, well below the usual 1024 open-file limit.
constexpr size_t kSignalBatch = 256;

// v1 hierarchies a container gets a directory in (cpu and cpuacct only for a CPU limit or CPU
// accounting: each hierarchy costs a mkdir, a migration of the child and an rmdir per start).
constexpr std::string_view kV1Controllers[] = {"memory", "cpu", "cpuacct", "pids", "freezer", "devices"};
// v2 controllers enabled for a container when the host has them.
constexpr std::string_view kV2Controllers[] = {"memory", "cpu", "pids"};

// Mount point -> the controllers of kV1Controllers mounted there (cpu,cpuacct may share one), cpu
// and cpuacct only when asked for, and cpuset when asked for.
std::map<std::string, std::vector<std::string>> v1_hierarchies(const CgroupLayout& layout, bool cpu, bool cpuset) {
  std::map<std::string, std::vector<std::string>> by_mount;
  auto add = [&](std::string_view c) {
    if (auto it = layout.v1_mounts.find(std::string(c)); it != layout.v1_mounts.end())
      by_mount[it->second].emplace_back(c);
  };
  for (std::string_view c : kV1Controllers)
    if (cpu || (c != "cpu" && c != "cpuacct")) add(c);
  if (cpuset) add("cpuset");
  return by_mount;
}

std::string_view flag_for(std::string_view controller) {
  if (controller == "memory") return "--memory";
  if (controller == "cpu") return "--cpus";
  if (controller == "pids") return "--pids-limit";
  return controller;
}

Status validate_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/')
    return fail("invalid cgroup name \"{}\": must be a relative path like slipway/<id>", name);
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = std::min(name.find('/', start), name.size());
    std::string_view part = std::string_view(name).substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      return fail("invalid cgroup name \"{}\": empty, \".\" or \"..\" component", name);
    start = end + 1;
  }
  if (name.find_first_of("\n\r\t") != std::string::npos)
    return fail("invalid cgroup name \"{}\": control character", name);
  return {};
}

bool needs_cpuset(const std::vector<CgroupWrite>& writes) {
  return std::any_of(writes.begin(), writes.end(), [](const CgroupWrite& w) { return w.controller == "cpuset"; });
}

std::string join_words(const std::set<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out.empty() ? "nothing" : out;
}

std::string pid_list(const std::vector<pid_t>& pids) {
  constexpr size_t kShown = 10;
  std::string out;
  for (size_t i = 0; i < pids.size() && i < kShown; ++i)
    out += (i ? ", " : "") + std::to_string(pids[i]);
  if (pids.size() > kShown) out += ", ...";
  return out;
}

}  // namespace

Result<Cgroup> Cgroup::create(const CgroupLayout& layout, const std::string& name,
                              const CgroupLimits& limits) {
  SLW_TRY(validate_name(name));
  std::vector<CgroupWrite> writes = SLW_TRY(plan_cgroup_writes(limits, layout.version));
  // Partly made cgroups are removed by this object's destructor; it only lists dirs we made.
  Cgroup cg(layout.version, name);
  if (layout.uses_v1()) {
    std::erase_if(writes, [&](const CgroupWrite& w) {
      return w.controller_optional && !layout.v1_mounts.contains(w.controller);
    });
    for (const auto& w : writes)
      if (!layout.v1_mounts.contains(w.controller))
        return fail("{} needs the {} cgroup controller, which this host does not have mounted",
                    flag_for(w.controller), w.controller);
    bool cpu = limits.cpu_accounting ||
               std::any_of(writes.begin(), writes.end(), [](const CgroupWrite& w) { return w.controller == "cpu"; });
    auto by_mount = v1_hierarchies(layout, cpu, needs_cpuset(writes));
    if (by_mount.empty())
      return fail(
          "create cgroup {}: none of the cgroup controllers memory, cpu, pids and freezer "
          "is mounted",
          name);
    for (auto& [mount, controllers] : by_mount) {
      SLW_TRY(make_leaf(mount, name));
      bool has_cpuset = std::find(controllers.begin(), controllers.end(), "cpuset") != controllers.end();
      cg.hierarchies_.push_back({mount, fs::join(mount, name), std::move(controllers)});
      if (has_cpuset) SLW_TRY(inherit_cpusets(mount, name));
    }
  } else {
    std::string list = fs::join(layout.v2_root, "cgroup.controllers");
    std::set<std::string> available = SLW_TRY(read_words(list));
    std::erase_if(writes, [&](const CgroupWrite& w) {
      return w.controller_optional && !available.contains(w.controller);
    });
    for (const auto& w : writes)
      if (!available.contains(w.controller))
        return fail(
            "{} needs the {} cgroup controller, which this host does not have enabled ({} "
            "lists {})",
            flag_for(w.controller), w.controller, list, join_words(available));
    std::vector<std::string> wanted;
    for (std::string_view c : kV2Controllers)
      if (available.contains(std::string(c))) wanted.emplace_back(c);
    if (needs_cpuset(writes)) wanted.emplace_back("cpuset");
    SLW_TRY(make_leaf(layout.v2_root, name));
    cg.hierarchies_.push_back({layout.v2_root, fs::join(layout.v2_root, name), wanted});
    SLW_TRY(enable_controllers(layout.v2_root, name, wanted));
  }
  for (const auto& w : writes) {
    std::string path = fs::join(cg.find(w.controller)->dir, w.file);
    if (w.skip_if_missing && !fs::exists(path)) continue;
    SLW_TRY(write_cgroup_file(path, w.value));
  }
  // With CAP_MKNOD a container could make a node for the host's disk and open it: the devices
  // controller lets it open only the devices a container is given.
  if (const Hierarchy* h = cg.find("devices")) {
    const CgroupFile deny = SLW_TRY(CgroupFile::open(fs::join(h->dir, "devices.deny"), "a"));
    const CgroupFile allow =
        SLW_TRY(CgroupFile::open(fs::join(h->dir, "devices.allow"), "device rules"));
    SLW_TRY(deny.write("a"));
    for (const auto& rule : limits.device_rules) {
      bool allows = rule.starts_with("allow ");
      SLW_TRY((allows ? allow : deny).write(std::string_view(rule).substr(allows ? 6 : 5)));
    }
    for (std::string_view rule : container_device_rules()) SLW_TRY(allow.write(rule));
  }
  for (const auto& dir : cg.paths()) log::debug("created cgroup {}", dir);
  return cg;
}

Status Cgroup::update(const CgroupLimits& limits) {
  for (const auto& w : SLW_TRY(plan_cgroup_writes(limits, version_))) {
    const Hierarchy* h = find(w.controller);
    if (!h) {
      if (w.controller_optional) continue;
      return fail("cgroup {} has no {} controller to update", name_, w.controller);
    }
    std::string path = fs::join(h->dir, w.file);
    if (w.skip_if_missing && !fs::exists(path)) continue;
    SLW_TRY(write_cgroup_file(path, w.value));
  }
  return {};
}

Cgroup::Usage Cgroup::usage() const {
  auto number = [&](std::string_view controller, const char* file) -> int64_t {
    const Hierarchy* h = find(controller);
    if (!h) return -1;
    auto text = fs::read_file(fs::join(h->dir, file));
    if (!text) return -1;
    if (text->starts_with("max")) return -1;
    return std::strtoll(text->c_str(), nullptr, 10);
  };
  Usage u;
  bool v2 = version_ == CgroupVersion::kV2;
  u.memory_bytes = number("memory", v2 ? "memory.current" : "memory.usage_in_bytes");
  u.memory_limit = number("memory", v2 ? "memory.max" : "memory.limit_in_bytes");
  u.pids = number("pids", "pids.current");
  if (v2) {
    if (const Hierarchy* h = find("cpu"))
      if (auto text = fs::read_file(fs::join(h->dir, "cpu.stat")))
        if (auto usec = parse_cgroup_key(*text, "usage_usec")) u.cpu_ns = *usec * 1000;
  } else {
    u.cpu_ns = number("cpuacct", "cpuacct.usage");
  }
  return u;
}

Result<Cgroup> Cgroup::open_existing(const CgroupLayout& layout, const std::string& name) {
  SLW_TRY(validate_name(name));
  Cgroup cg(layout.version, name);
  if (layout.uses_v1()) {
    for (auto& [mount, controllers] : v1_hierarchies(layout, true, true))
      if (fs::is_dir(fs::join(mount, name)))
        cg.hierarchies_.push_back({mount, fs::join(mount, name), std::move(controllers)});
  } else if (std::string dir = fs::join(layout.v2_root, name); fs::is_dir(dir)) {
    std::set<std::string> available = SLW_TRY(read_words(fs::join(dir, "cgroup.controllers")));
    std::vector<std::string> controllers;
    for (std::string_view c : kV2Controllers)
      if (available.contains(std::string(c))) controllers.emplace_back(c);
    cg.hierarchies_.push_back({layout.v2_root, dir, std::move(controllers)});
  }
  if (cg.hierarchies_.empty())
    return std::unexpected(Error(ENOENT, fmt::format("cgroup {} does not exist", name)));
  return cg;
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(other.version_),
      name_(std::move(other.name_)),
      hierarchies_(std::move(other.hierarchies_)),
      owned_(std::exchange(other.owned_, false)),
      destroyed_(other.destroyed_) {
  other.hierarchies_.clear();
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    destroy_quietly();
    version_ = other.version_;
    name_ = std::move(other.name_);
    hierarchies_ = std::move(other.hierarchies_);
    owned_ = std::exchange(other.owned_, false);
    destroyed_ = other.destroyed_;
    other.hierarchies_.clear();
  }
  return *this;
}

Cgroup::~Cgroup() {
  destroy_quietly();
}

void Cgroup::destroy_quietly() {
  if (!owned_ || destroyed_ || hierarchies_.empty()) return;
  if (auto st = destroy(); !st) log::warn("{}", st.error().message());
}

const Cgroup::Hierarchy* Cgroup::find(std::string_view controller) const {
  for (const auto& h : hierarchies_)
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end())
      return &h;
  return nullptr;
}

std::vector<std::string> Cgroup::paths() const {
  std::vector<std::string> out;
  for (const auto& h : hierarchies_) out.push_back(h.dir);
  std::sort(out.begin(), out.end());
  return out;
}

Status Cgroup::add_process(pid_t pid) {
  if (hierarchies_.empty())
    return fail("add process {} to cgroup {}: it has no directories", pid, name_);
  for (const auto& h : hierarchies_)
    SLW_TRY(write_cgroup_file(fs::join(h.dir, "cgroup.procs"), std::to_string(pid)));
  return {};
}

Result<CgroupJoin> Cgroup::open_join() const {
  if (hierarchies_.empty()) return fail("join cgroup {}: it has no directories", name_);
  CgroupJoin join;
  if (version_ == CgroupVersion::kV2) {
    join.v2_dir = SLW_TRY(fs::open_file(hierarchies_.front().dir, O_RDONLY | O_DIRECTORY));
    return join;
  }
  for (const auto& h : hierarchies_)
    join.v1_task_files.push_back(SLW_TRY(fs::open_file(fs::join(h.dir, "tasks"), O_WRONLY)));
  return join;
}

Result<std::vector<pid_t>> Cgroup::pids() const {
  std::set<pid_t> all;
  for (const auto& h : hierarchies_) {
    std::vector<std::string> dirs;
    SLW_TRY(collect_subtree(h.dir, dirs));
    for (const auto& dir : dirs) {
      std::string procs = fs::join(dir, "cgroup.procs");
      auto text = fs::read_file(procs);
      if (!text && text.error().code() == ENOENT) continue;  // removed while we looked
      if (!text) return std::unexpected(std::move(text.error()));
      for (pid_t pid : SLW_TRY_CTX(parse_cgroup_procs(*text), "read {}", procs)) all.insert(pid);
    }
  }
  return std::vector<pid_t>(all.begin(), all.end());
}

Result<bool> Cgroup::oom_killed() const {
  const Hierarchy* h = find("memory");
  if (!h) return fail("cgroup {} has no memory controller, which OOM kill detection needs", name_);
  const bool v2 = version_ == CgroupVersion::kV2;
  std::string path = fs::join(h->dir, v2 ? "memory.events" : "memory.oom_control");
  std::string text = SLW_TRY(fs::read_file(path));
  std::optional<int64_t> kills = parse_cgroup_key(text, "oom_kill");
  if (!kills)
    return fail("{} has no oom_kill counter{}", path, v2 ? "" : " (kernel older than 4.13)");
  return *kills > 0;
}

std::string Cgroup::freezer_file() const {
  if (version_ != CgroupVersion::kV2) {
    const Hierarchy* h = find("freezer");
    return h ? fs::join(h->dir, "freezer.state") : "";
  }
  std::string file = fs::join(hierarchies_.front().dir, "cgroup.freeze");
  return fs::exists(file) ? file : "";
}

Status Cgroup::freeze(bool frozen) {
  if (freezer_file().empty()) return fail("cgroup {}: this host has no freezer to pause it with", name_);
  return set_frozen(frozen);
}

bool Cgroup::frozen() const {
  std::string file = freezer_file();
  if (file.empty()) return false;
  auto now = fs::read_file(file);
  if (!now) return false;
  return version_ != CgroupVersion::kV2 ? now->starts_with("FROZEN") : now->starts_with("1");
}

Status Cgroup::set_frozen(bool frozen) {
  std::string state;
  std::string value;
  if (version_ != CgroupVersion::kV2) {
    const Hierarchy* h = find("freezer");
    if (!h) return {};
    state = fs::join(h->dir, "freezer.state");
    value = frozen ? "FROZEN" : "THAWED";
  } else {
    state = fs::join(hierarchies_.front().dir, "cgroup.freeze");
    if (!fs::exists(state)) return {};  // kernel < 5.2
    value = frozen ? "1" : "0";
  }
  SLW_TRY(write_cgroup_file(state, value));
  if (!frozen) return {};
  // Freezing completes asynchronously: v1 reports FREEZING, v2 clears "frozen" in cgroup.events.
  std::string events = fs::join(hierarchies_.front().dir, "cgroup.events");
  for (auto deadline = Clock::now() + kFreezeTimeout; Clock::now() < deadline;) {
    if (version_ != CgroupVersion::kV2) {
      std::string now = SLW_TRY(fs::read_file(state));
      if (now.starts_with("FROZEN")) return {};
    } else if (parse_cgroup_key(SLW_TRY(fs::read_file(events)), "frozen") == 1) {
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  log::debug("cgroup {} did not freeze within {}s; signalling it anyway", name_,
             std::chrono::duration_cast<std::chrono::seconds>(kFreezeTimeout).count());
  return {};
}

// Pins each listed process with a pidfd, then signals only those still listed: a pid that exited
// and was reused by a process outside the cgroup is never signalled.
// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C" and cannot be linked from C++.
Status Cgroup::signal_members(int sig) {
  std::vector<pid_t> listed = SLW_TRY(pids());
  for (size_t begin = 0; begin < listed.size(); begin += kSignalBatch) {
    size_t end = std::min(listed.size(), begin + kSignalBatch);
    std::vector<std::pair<pid_t, UniqueFd>> pinned;
    for (size_t i = begin; i < end; ++i) {
      pid_t pid = listed[i];
      int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (fd >= 0) {
        pinned.emplace_back(pid, UniqueFd(fd));
      } else if (errno == ENOSYS) {
        // Kernel < 5.3: no way to pin a pid; signal it by number.
        if (::kill(pid, sig) < 0 && errno != ESRCH)
          return fail_errno(
              fmt::format("send signal {} to process {} of cgroup {}", sig, pid, name_));
      } else if (errno != ESRCH) {
        return fail_errno(fmt::format("open pidfd of process {} of cgroup {}", pid, name_));
      }
    }
    if (pinned.empty()) continue;
    std::vector<pid_t> members = SLW_TRY(pids());
    for (auto& [pid, fd] : pinned) {
      if (!std::binary_search(members.begin(), members.end(), pid)) continue;
      if (::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) < 0 && errno != ESRCH)
        return fail_errno(
            fmt::format("send signal {} to process {} of cgroup {}", sig, pid, name_));
    }
  }
  return {};
}

Result<std::vector<pid_t>> Cgroup::wait_until_empty(Clock::time_point deadline) const {
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    std::vector<pid_t> left = SLW_TRY(pids());
    if (left.empty() || Clock::now() >= deadline) return left;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

Status Cgroup::kill_all(int sig) {
  // An empty cgroup needs no freezing; one removed by another process (gc) has nothing to kill.
  if (SLW_TRY(pids()).empty()) return {};
  const auto deadline = Clock::now() + kKillTimeout;
  std::vector<pid_t> left;
  if (version_ == CgroupVersion::kV2 && sig == SIGKILL &&
      fs::exists(fs::join(hierarchies_.front().dir, "cgroup.kill"))) {
    // cgroup.kill (kernel >= 5.14) kills every member and every fork in flight in one go.
    SLW_TRY(write_cgroup_file(fs::join(hierarchies_.front().dir, "cgroup.kill"), "1"));
    left = SLW_TRY(wait_until_empty(deadline));
  } else {
    for (;;) {
      // Thaw even when freezing failed half-way: a cgroup left frozen cannot even die of SIGKILL.
      Status frozen = set_frozen(true);
      Status sent = frozen ? signal_members(sig) : Status{};
      Status thawed = set_frozen(false);
      if (!frozen) return frozen;
      if (!sent) return sent;
      if (!thawed) return thawed;
      if (sig != SIGKILL) return {};
      // Without a freezer a fork can race a pass; the next pass catches what it made.
      left = SLW_TRY(wait_until_empty(std::min(deadline, Clock::now() + kKillPassWait)));
      if (left.empty() || Clock::now() >= deadline) break;
    }
  }
  if (!left.empty())
    return fail("cgroup {} still holds process(es) {} {}s after SIGKILL", name_, pid_list(left),
                std::chrono::duration_cast<std::chrono::seconds>(kKillTimeout).count());
  return {};
}

Status Cgroup::remove_dirs() {
  for (const auto& h : hierarchies_) {
    std::vector<std::string> dirs;
    SLW_TRY(collect_subtree(h.dir, dirs));
    for (const auto& dir : dirs) {
      // A killed task can keep its cgroup busy for a moment after cgroup.procs stops listing it.
      const auto deadline = Clock::now() + std::chrono::seconds(2);
      while (::rmdir(dir.c_str()) < 0 && errno != ENOENT) {
        if (errno != EBUSY || Clock::now() >= deadline)
          return fail_errno(fmt::format("remove cgroup {}", dir));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    remove_own_parents(h);
  }
  return {};
}

void Cgroup::remove_own_parents(const Hierarchy& h) {
  // Ancestors named in name_ are slipway's own under slipway/: removed once the last child is
  // gone (slipway/ too: nothing of slipway's stays on the host after its last container).
  // Another parent (an OCI cgroupsPath: containerd's namespace, kubelet's kubepods/...) is its
  // owner's and stays, with whatever settings that owner gave it.
  if (!name_.starts_with(std::string(kCgroupParent) + "/")) return;
  std::string_view rel = name_;
  for (size_t slash; (slash = rel.rfind('/')) != std::string_view::npos;) {
    rel = rel.substr(0, slash);
    if (::rmdir(fs::join(h.mount, rel).c_str()) < 0) break;  // not empty: another container's
  }
}

bool Cgroup::remove_if_empty() {
  std::vector<const Hierarchy*> order;
  for (const auto& h : hierarchies_) order.push_back(&h);
  std::stable_partition(order.begin(), order.end(), [](const Hierarchy* h) {
    return std::find(h->controllers.begin(), h->controllers.end(), "freezer") == h->controllers.end();
  });
  for (const Hierarchy* h : order) {
    // The kernel refuses (EBUSY) a cgroup that still has a member or a child cgroup.
    if (::rmdir(h->dir.c_str()) < 0 && errno != ENOENT) return false;
    remove_own_parents(*h);
  }
  return true;
}

Status Cgroup::destroy() {
  if (destroyed_ || hierarchies_.empty()) return {};
  // After the container's init was reaped, usually nothing is left: no need to list members.
  if (remove_if_empty()) {
    destroyed_ = true;
    return {};
  }
  // Both name the cgroup in their errors already.
  SLW_TRY(kill_all(SIGKILL));
  SLW_TRY(remove_dirs());
  destroyed_ = true;
  return {};
}

}  // namespace slipway::runtime
