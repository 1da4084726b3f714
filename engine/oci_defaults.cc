// The fixed tables of the OCI runtime: resource limit names, mount(8) options, and the default
// config.json of `slipway oci spec`.
#include <sys/mount.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <utility>

#include "engine/oci_config.h"

namespace slipway::engine {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},   {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

}  // namespace

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const auto& [n, r] : kRlimits)
    if (n == name) return r;
  return std::nullopt;
}

std::string_view rlimit_name(int resource) {
  for (const auto& [n, r] : kRlimits)
    if (r == resource) return n;
  return "RLIMIT_?";
}

ParsedMountOptions parse_mount_options(const std::vector<std::string>& options) {
  struct Flag {
    std::string_view name;
    bool clear;
    unsigned long flag;
  };
  static constexpr Flag kFlags[] = {
      {"async", true, MS_SYNCHRONOUS}, {"atime", true, MS_NOATIME},       {"bind", false, MS_BIND},
      {"defaults", false, 0},          {"dev", true, MS_NODEV},           {"diratime", true, MS_NODIRATIME},
      {"dirsync", false, MS_DIRSYNC},  {"exec", true, MS_NOEXEC},         {"iversion", false, MS_I_VERSION},
      {"lazytime", false, MS_LAZYTIME}, {"loud", true, MS_SILENT},        {"mand", false, MS_MANDLOCK},
      {"noatime", false, MS_NOATIME},  {"nodev", false, MS_NODEV},        {"nodiratime", false, MS_NODIRATIME},
      {"noexec", false, MS_NOEXEC},    {"noiversion", true, MS_I_VERSION}, {"nolazytime", true, MS_LAZYTIME},
      {"nomand", true, MS_MANDLOCK},   {"norelatime", true, MS_RELATIME}, {"nostrictatime", true, MS_STRICTATIME},
      {"nosuid", false, MS_NOSUID},    {"rbind", false, MS_BIND | MS_REC}, {"relatime", false, MS_RELATIME},
      {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},           {"silent", false, MS_SILENT},
      {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},  {"sync", false, MS_SYNCHRONOUS},
  };
  static constexpr std::pair<std::string_view, unsigned long> kPropagation[] = {
      {"private", MS_PRIVATE},           {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
      {"rshared", MS_SHARED | MS_REC},   {"slave", MS_SLAVE},               {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE},     {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  ParsedMountOptions out;
  for (const auto& o : options) {
    auto flag = std::find_if(std::begin(kFlags), std::end(kFlags), [&](const Flag& f) { return f.name == o; });
    if (flag != std::end(kFlags)) {
      if (flag->clear) out.flags &= ~flag->flag;
      else out.flags |= flag->flag;
      continue;
    }
    auto prop = std::find_if(std::begin(kPropagation), std::end(kPropagation), [&](const auto& p) { return p.first == o; });
    if (prop != std::end(kPropagation)) {
      out.propagation = prop->second;
      continue;
    }
    if (o.empty()) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

std::string default_oci_config() {
  json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"inheritable", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "slipway"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
      {"linux",
       {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        {"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}}};
  return config.dump(2) + "\n";
}

}  // namespace slipway::engine
