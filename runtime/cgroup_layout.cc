// The pure half of cgroups: layout detection from mountinfo, the limits -> writes plan and parsers
// of cgroup files. No system calls here except reading /proc/self/mountinfo in
// detect_cgroup_layout.
#include <charconv>
#include <cmath>
#include <set>

#include "base/fs.h"
#include "runtime/cgroups.h"

namespace slipway::runtime {

namespace {

// v1 controllers the kernel knows; other super options of a cgroup mount (rw, name=systemd, xattr,
// release_agent=...) are not controllers.
const std::set<std::string_view> kKnownV1Controllers = {
    "blkio",  "cpu",  "cpuacct", "cpuset",   "devices",    "freezer", "hugetlb",
    "memory", "misc", "net_cls", "net_prio", "perf_event", "pids",    "rdma",
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      std::string_view oct = s.substr(i + 1, 3);
      if (oct.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Several mounts of one hierarchy can exist (bind mounts, nested roots); the canonical place wins.
bool preferred_over(const std::string& candidate, const std::string& current) {
  auto rank = [](const std::string& p) {
    if (p == "/sys/fs/cgroup") return 0;
    if (p.starts_with("/sys/fs/cgroup/")) return 1;
    return 2;
  };
  return rank(candidate) < rank(current);
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string_view to_string(CgroupVersion v) {
  switch (v) {
    case CgroupVersion::kV1:
      return "v1";
    case CgroupVersion::kHybrid:
      return "hybrid";
    case CgroupVersion::kV2:
      return "v2";
  }
  return "unknown";
}

Result<CgroupLayout> parse_cgroup_layout(std::string_view mountinfo) {
  CgroupLayout layout;
  int line_no = 0;
  for (std::string_view line : split(mountinfo, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string_view> fields = split(line, ' ');
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    size_t dash = 6;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash + 4 != fields.size())
      return fail("parse mountinfo line {}: no \" - \" before the last three fields: \"{}\"",
                  line_no, line);
    std::string_view fstype = fields[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::string mount_point = unescape_mountinfo(fields[4]);
    if (fstype == "cgroup2") {
      if (layout.v2_root.empty() || preferred_over(mount_point, layout.v2_root))
        layout.v2_root = mount_point;
      continue;
    }
    for (std::string_view option : split(fields[dash + 3], ',')) {
      if (!kKnownV1Controllers.contains(option)) continue;
      auto [it, inserted] = layout.v1_mounts.emplace(std::string(option), mount_point);
      if (!inserted && preferred_over(mount_point, it->second)) it->second = mount_point;
    }
  }
  if (!layout.v1_mounts.empty())
    layout.version = layout.v2_root.empty() ? CgroupVersion::kV1 : CgroupVersion::kHybrid;
  else if (!layout.v2_root.empty())
    layout.version = CgroupVersion::kV2;
  else
    return fail(
        "no cgroup file system is mounted (/proc/self/mountinfo has no cgroup or cgroup2 "
        "mount with a controller)");
  return layout;
}

Result<CgroupLayout> detect_cgroup_layout() {
  std::string text = SLW_TRY_CTX(fs::read_file("/proc/self/mountinfo"), "detect cgroup layout");
  return with_context(parse_cgroup_layout(text), "detect cgroup layout");
}

Result<std::vector<CgroupWrite>> plan_cgroup_writes(const CgroupLimits& limits, CgroupVersion v) {
  const bool v2 = v == CgroupVersion::kV2;
  std::vector<CgroupWrite> writes;
  if (limits.memory_bytes) {
    int64_t bytes = *limits.memory_bytes;
    if (bytes <= 0) return fail("--memory must be a positive number of bytes, got {}", bytes);
    std::string value = std::to_string(bytes);
    if (v2) {
      writes.push_back({"memory", "memory.max", value});
      writes.push_back({"memory", "memory.swap.max", "0", true});
    } else {
      // memsw is memory plus swap and may never be below the memory limit: set memory first.
      writes.push_back({"memory", "memory.limit_in_bytes", value});
      writes.push_back({"memory", "memory.memsw.limit_in_bytes", value, true});
    }
  }
  if (limits.cpus) {
    double cpus = *limits.cpus;
    // Past this the quota overflows what the kernel accepts (about 2^44 ns per period).
    constexpr double kMaxCpus = 100000;
    if (!std::isfinite(cpus) || cpus <= 0)
      return fail("--cpus must be a positive number, got {}", cpus);
    if (cpus > kMaxCpus) return fail("--cpus {} is above the maximum of {}", cpus, kMaxCpus);
    int64_t quota = std::llround(cpus * static_cast<double>(kCpuPeriodUs));
    // The kernel rejects a CFS quota below 1 ms.
    if (quota < 1000) return fail("--cpus {} is below the minimum of 0.01", cpus);
    if (v2) {
      writes.push_back({"cpu", "cpu.max", fmt::format("{} {}", quota, kCpuPeriodUs)});
    } else {
      writes.push_back({"cpu", "cpu.cfs_period_us", std::to_string(kCpuPeriodUs)});
      writes.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(quota)});
    }
  }
  if (limits.cpu_period_us || limits.cpu_quota_us) {
    if (limits.cpus) return fail("cpus and a CFS quota cannot both be given");
    uint64_t period = limits.cpu_period_us.value_or(kCpuPeriodUs);
    int64_t quota = limits.cpu_quota_us.value_or(-1);
    if (period < 1000 || period > 1000000) return fail("cpu period {} us is outside 1000..1000000", period);
    if (quota != -1 && quota < 1000) return fail("cpu quota {} us is below the minimum of 1000", quota);
    if (v2) {
      writes.push_back({"cpu", "cpu.max", fmt::format("{} {}", quota == -1 ? "max" : std::to_string(quota), period)});
    } else {
      writes.push_back({"cpu", "cpu.cfs_period_us", std::to_string(period)});
      writes.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(quota)});
    }
  }
  if (!limits.cpuset_cpus.empty()) writes.push_back({"cpuset", "cpuset.cpus", limits.cpuset_cpus});
  if (!limits.cpuset_mems.empty()) writes.push_back({"cpuset", "cpuset.mems", limits.cpuset_mems});
  if (limits.cpu_shares) {
    uint64_t shares = *limits.cpu_shares;
    if (shares < 2 || shares > 262144) return fail("cpu shares {} are outside 2..262144", shares);
    // The conversion the OCI runtimes share: 2..262144 maps onto cpu.weight's 1..10000.
    if (v2) writes.push_back({"cpu", "cpu.weight", std::to_string(1 + ((shares - 2) * 9999) / 262142)});
    else writes.push_back({"cpu", "cpu.shares", std::to_string(shares)});
  }
  if (limits.pids) {
    if (*limits.pids <= 0) return fail("--pids-limit must be at least 1, got {}", *limits.pids);
    writes.push_back({"pids", "pids.max", std::to_string(*limits.pids), false, limits.pids_optional});
  }
  return writes;
}

std::optional<int64_t> parse_cgroup_key(std::string_view text, std::string_view key) {
  for (std::string_view line : split(text, '\n')) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ' ') continue;
    int64_t value = 0;
    if (!parse_number(line.substr(key.size() + 1), value)) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

Result<std::vector<pid_t>> parse_cgroup_procs(std::string_view text) {
  std::vector<pid_t> pids;
  for (std::string_view line : split(text, '\n')) {
    if (line.empty()) continue;
    pid_t pid = 0;
    if (!parse_number(line, pid) || pid <= 0) return fail("not a pid: \"{}\"", line);
    pids.push_back(pid);
  }
  return pids;
}

std::string container_cgroup_name(std::string_view container_id) {
  return fmt::format("{}/{}", kCgroupParent, container_id);
}

const std::vector<std::string_view>& container_device_rules() {
  static const std::vector<std::string_view> kRules = {
      "c *:* m",    "b *:* m",    "c 1:3 rwm",  "c 1:5 rwm",   "c 1:7 rwm",  "c 1:8 rwm",
      "c 1:9 rwm",  "c 5:0 rwm",  "c 5:1 rwm",  "c 5:2 rwm",   "c 136:* rwm", "c 10:200 rwm"};
  return kRules;
}

}  // namespace slipway::runtime
