#include "engine/oci_config.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "runtime/capabilities.h"

namespace slipway::engine {
namespace {

using nlohmann::json;

// A required field that is absent; thrown by Field::at, caught in parse_oci_config.
struct MissingField {
  std::string path;
};

// A field's value with the path to it, so that every error names the field.
struct Field {
  const json& value;
  std::string path;

  // A required member.
  Field at(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw MissingField{join(key)};
    return {*v, join(key)};
  }
  Field at(size_t i) const { return {value[i], fmt::format("{}[{}]", path, i)}; }
  const json* find(std::string_view key) const {
    auto it = value.find(std::string(key));
    return it == value.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<Field> member(std::string_view key) const {
    if (const json* v = find(key)) return Field{*v, join(key)};
    return std::nullopt;
  }
  std::string join(std::string_view key) const { return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key); }

  Error error(std::string_view what) const {
    return Error(0, path.empty() ? std::string(what) : fmt::format("{}: {}", path, what));
  }
  Status expect(json::value_t type, std::string_view name) const {
    if (value.type() == type || (type == json::value_t::number_unsigned && value.is_number_integer()))
      return {};
    return std::unexpected(error(fmt::format("must be {}", name)));
  }
  Result<std::string> string() const {
    if (!value.is_string()) return std::unexpected(error("must be a string"));
    return value.get<std::string>();
  }
  Result<bool> boolean() const {
    if (!value.is_boolean()) return std::unexpected(error("must be true or false"));
    return value.get<bool>();
  }
  Result<int64_t> integer() const {
    if (!value.is_number_integer()) return std::unexpected(error("must be an integer"));
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return std::unexpected(error("is too large"));
    return value.get<int64_t>();
  }
  Result<uint64_t> unsigned_integer() const {
    if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<int64_t>() < 0))
      return std::unexpected(error("must be a non-negative integer"));
    return value.get<uint64_t>();
  }
  Result<std::vector<Field>> array() const {
    if (!value.is_array()) return std::unexpected(error("must be an array"));
    std::vector<Field> items;
    for (size_t i = 0; i < value.size(); ++i) items.push_back(at(i));
    return items;
  }
  Result<std::vector<std::string>> strings() const {
    std::vector<std::string> out;
    for (const Field& f : SLW_TRY(array())) out.push_back(SLW_TRY(f.string()));
    return out;
  }
  Status object() const { return expect(json::value_t::object, "an object"); }
};

Status unknown(const Field& f, std::string_view what, std::string_view value) {
  return std::unexpected(f.error(fmt::format("unknown {} \"{}\"", what, value)));
}

// Lexically normal, and not above its start: "a/../b" is fine, "../b" is not.
bool stays_below(const std::filesystem::path& relative) {
  auto normal = relative.lexically_normal();
  return normal.empty() || *normal.begin() != "..";
}

Result<std::string> absolute_in_bundle(const Field& f, const std::string& bundle) {
  std::string p = SLW_TRY(f.string());
  if (p.empty()) return std::unexpected(f.error("is empty"));
  if (p.starts_with('/')) return std::filesystem::path(p).lexically_normal().string();
  if (!stays_below(p)) return std::unexpected(f.error(fmt::format("\"{}\" leaves the bundle directory", p)));
  return (std::filesystem::path(bundle) / p).lexically_normal().string();
}

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},     {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},   {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

Result<uint64_t> capability_set(const Field& f) {
  uint64_t set = 0;
  for (const Field& item : SLW_TRY(f.array())) {
    std::string name = SLW_TRY(item.string());
    auto cap = runtime::capability_from_name(name);
    if (!cap) return std::unexpected(item.error(fmt::format("unknown capability \"{}\"", name)));
    set |= uint64_t{1} << *cap;
  }
  return set;
}

Status read_user(const Field& user, runtime::ProcessSpec& p, std::vector<std::string>& warnings) {
  SLW_TRY(user.object());
  if (auto uid = user.member("uid")) p.uid = static_cast<uid_t>(SLW_TRY(uid->unsigned_integer()));
  if (auto gid = user.member("gid")) p.gid = static_cast<gid_t>(SLW_TRY(gid->unsigned_integer()));
  if (auto groups = user.member("additionalGids"))
    for (const Field& g : SLW_TRY(groups->array())) p.additional_gids.push_back(static_cast<gid_t>(SLW_TRY(g.unsigned_integer())));
  if (auto umask = user.member("umask")) {
    uint64_t mask = SLW_TRY(umask->unsigned_integer());
    if (mask != 022) warnings.push_back(fmt::format("{}: only 0022 is applied", umask->path));
  }
  if (user.member("username")) warnings.push_back(fmt::format("{}: a Windows field, ignored", user.join("username")));
  return {};
}

Status read_process(const Field& process, OciBundle& b) {
  SLW_TRY(process.object());
  runtime::ProcessSpec& p = b.spec.process;
  p.args = SLW_TRY(process.at("args").strings());
  if (p.args.empty() || p.args.front().empty()) return std::unexpected(process.at("args").error("must name a command"));
  if (auto env = process.member("env")) p.env = SLW_TRY(env->strings());
  for (size_t i = 0; i < p.env.size(); ++i)
    if (p.env[i].find('=') == std::string::npos)
      return std::unexpected(process.at("env").at(i).error("must be NAME=VALUE"));
  Field cwd = process.at("cwd");
  p.cwd = SLW_TRY(cwd.string());
  if (!p.cwd.starts_with('/')) return std::unexpected(cwd.error("must be an absolute path"));
  if (auto terminal = process.member("terminal")) p.terminal = SLW_TRY(terminal->boolean());
  if (auto user = process.member("user")) SLW_TRY(read_user(*user, p, b.warnings));
  runtime::CapabilitySets caps;
  if (auto c = process.member("capabilities")) {
    SLW_TRY(c->object());
    if (auto s = c->member("bounding")) caps.bounding = SLW_TRY(capability_set(*s));
    if (auto s = c->member("effective")) caps.effective = SLW_TRY(capability_set(*s));
    if (auto s = c->member("permitted")) caps.permitted = SLW_TRY(capability_set(*s));
    if (auto s = c->member("inheritable")) caps.inheritable = SLW_TRY(capability_set(*s));
    if (auto s = c->member("ambient")) caps.ambient = SLW_TRY(capability_set(*s));
    // The kernel raises an ambient capability only when it is permitted and inheritable too; runc
    // skips the others (its own default spec lists ambient ones without inheritable).
    if (uint64_t lone = caps.ambient & ~(caps.permitted & caps.inheritable)) {
      b.warnings.push_back(fmt::format("{}: {} not permitted and inheritable too, so not raised", c->join("ambient"),
                                       fmt::join(runtime::capability_names(lone), ",")));
      caps.ambient &= ~lone;
    }
  }
  b.spec.security.capability_sets = caps;
  // The default seccomp rules (unused here: the bundle says whether it has a profile) key off these.
  b.spec.security.capabilities = caps.bounding;
  if (auto rlimits = process.member("rlimits")) {
    for (const Field& r : SLW_TRY(rlimits->array())) {
      SLW_TRY(r.object());
      std::string type = SLW_TRY(r.at("type").string());
      auto resource = rlimit_from_name(type);
      if (!resource) return unknown(r.at("type"), "resource limit", type);
      uint64_t soft = SLW_TRY(r.at("soft").unsigned_integer()), hard = SLW_TRY(r.at("hard").unsigned_integer());
      if (soft > hard) return std::unexpected(r.error(fmt::format("{}: soft {} is above hard {}", type, soft, hard)));
      auto same = [&](const runtime::ProcessSpec::Rlimit& x) { return x.resource == *resource; };
      if (std::any_of(p.rlimits.begin(), p.rlimits.end(), same))
        return std::unexpected(r.error(fmt::format("{} is given twice", type)));
      p.rlimits.push_back({*resource, soft, hard});
    }
  }
  if (auto nnp = process.member("noNewPrivileges")) b.spec.security.no_new_privileges = SLW_TRY(nnp->boolean());
  if (auto oom = process.member("oomScoreAdj")) {
    int64_t v = SLW_TRY(oom->integer());
    if (v < -1000 || v > 1000) return std::unexpected(oom->error("must be between -1000 and 1000"));
    p.oom_score_adj = static_cast<int>(v);
  }
  for (const char* unsupported : {"apparmorProfile", "selinuxLabel", "ioPriority", "scheduler", "execCPUAffinity"})
    if (const json* v = process.find(unsupported); v && !(v->is_string() && v->get<std::string>().empty()))
      b.warnings.push_back(fmt::format("{}: not supported by slipway on this host, ignored", process.join(unsupported)));
  b.has_process = true;
  return {};
}

Status read_mounts(const Field& mounts, OciBundle& b, const OciPlace& place) {
  std::vector<runtime::MountEntry> out;
  for (const Field& m : SLW_TRY(mounts.array())) {
    SLW_TRY(m.object());
    runtime::MountEntry e;
    Field destination = m.at("destination");
    e.target = SLW_TRY(destination.string());
    if (e.target.empty()) return std::unexpected(destination.error("is empty"));
    // A relative destination is taken from the root, as runc does.
    if (!e.target.starts_with('/')) e.target = "/" + e.target;
    e.target = std::filesystem::path(e.target).lexically_normal().string();
    if (auto type = m.member("type")) e.fstype = SLW_TRY(type->string());
    std::vector<std::string> options;
    if (auto o = m.member("options")) options = SLW_TRY(o->strings());
    ParsedMountOptions parsed = parse_mount_options(options);
    e.flags = parsed.flags;
    e.propagation = parsed.propagation;
    e.data = parsed.data;
    if (e.fstype == "bind") e.flags |= MS_BIND;
    if (e.flags & MS_BIND) {
      e.fstype.clear();
      // A bind's source is a host path; relative ones are the bundle's.
      e.source = SLW_TRY(absolute_in_bundle(m.at("source"), place.bundle));
      // The kernel takes no file-system options for a bind; runc drops them too.
      if (!e.data.empty()) {
        b.warnings.push_back(fmt::format("{}: \"{}\" ignored: a bind mount takes no file-system options",
                                         m.join("options"), e.data));
        e.data.clear();
      }
    } else {
      if (e.fstype.empty()) return std::unexpected(m.error("type is required for a mount that is not a bind"));
      if (auto source = m.member("source")) e.source = SLW_TRY(source->string());
      if (e.source.empty()) e.source = e.fstype;
    }
    out.push_back(std::move(e));
  }
  b.spec.mounts = std::move(out);
  return {};
}

struct NamespaceKind {
  std::string_view name;
  int flag;
};
constexpr std::array<NamespaceKind, 8> kNamespaces = {{{"pid", CLONE_NEWPID},
                                                       {"network", CLONE_NEWNET},
                                                       {"mount", CLONE_NEWNS},
                                                       {"ipc", CLONE_NEWIPC},
                                                       {"uts", CLONE_NEWUTS},
                                                       {"user", CLONE_NEWUSER},
                                                       {"cgroup", CLONE_NEWCGROUP},
                                                       {"time", 0x80 /* CLONE_NEWTIME */}}};

Status read_namespaces(const Field& namespaces, OciBundle& b) {
  runtime::ContainerSpec& s = b.spec;
  s.namespaces.create = 0;
  s.network.mode = runtime::NetworkMode::kHost;  // not listed: the runtime's own
  uint64_t seen = 0;
  for (const Field& n : SLW_TRY(namespaces.array())) {
    SLW_TRY(n.object());
    Field type_field = n.at("type");
    std::string type = SLW_TRY(type_field.string());
    auto kind = std::find_if(kNamespaces.begin(), kNamespaces.end(), [&](const NamespaceKind& k) { return k.name == type; });
    if (kind == kNamespaces.end()) return unknown(type_field, "namespace type", type);
    if (seen & static_cast<uint64_t>(kind->flag))
      return std::unexpected(type_field.error(fmt::format("the {} namespace is listed twice", type)));
    seen |= static_cast<uint64_t>(kind->flag);
    std::string path;
    if (auto p = n.member("path")) path = SLW_TRY(p->string());
    if (!path.empty() && !path.starts_with('/'))
      return std::unexpected(n.at("path").error("must be an absolute path"));
    if (type == "time")
      return std::unexpected(type_field.error("time namespaces are not supported by slipway yet"));
    if (type == "user" && !path.empty())
      return std::unexpected(n.at("path").error("joining an existing user namespace is not supported by slipway yet"));
    if (type == "network") {
      s.network.mode = path.empty() ? runtime::NetworkMode::kNone : runtime::NetworkMode::kJoin;
      s.network.join_path = path;
    } else if (path.empty()) {
      s.namespaces.create |= static_cast<uint64_t>(kind->flag);
    } else {
      s.namespaces.join.push_back({kind->flag, path});
    }
  }
  if (s.namespaces.user() && (!s.namespaces.join.empty() || s.network.mode == runtime::NetworkMode::kJoin))
    return std::unexpected(namespaces.error(
        "joining namespaces by path together with a new user namespace is not supported by slipway yet"));
  bool joins_mount = std::any_of(s.namespaces.join.begin(), s.namespaces.join.end(),
                                 [](const runtime::NamespaceJoin& j) { return j.type == CLONE_NEWNS; });
  if (!(s.namespaces.create & CLONE_NEWNS) && !joins_mount)
    return std::unexpected(namespaces.error("a mount namespace is required, new or joined: slipway pivots into the rootfs"));
  return {};
}

Result<std::vector<runtime::IdMapping>> id_mappings(const Field& list) {
  std::vector<runtime::IdMapping> out;
  for (const Field& m : SLW_TRY(list.array())) {
    SLW_TRY(m.object());
    auto id = [&](const char* key) -> Result<uint32_t> {
      uint64_t v = SLW_TRY(m.at(key).unsigned_integer());
      if (v > UINT32_MAX) return std::unexpected(m.at(key).error("is above 4294967295"));
      return static_cast<uint32_t>(v);
    };
    runtime::IdMapping mapping{SLW_TRY(id("containerID")), SLW_TRY(id("hostID")), SLW_TRY(id("size"))};
    if (mapping.size == 0) return std::unexpected(m.at("size").error("must be above 0"));
    out.push_back(mapping);
  }
  return out;
}

// uidMappings and gidMappings go with a user namespace of the container's own, and it needs both.
Status read_id_mappings(const Field& linux_field, runtime::NamespaceSpec& ns) {
  if (auto uids = linux_field.member("uidMappings")) ns.uid_mappings = SLW_TRY(id_mappings(*uids));
  if (auto gids = linux_field.member("gidMappings")) ns.gid_mappings = SLW_TRY(id_mappings(*gids));
  bool any = !ns.uid_mappings.empty() || !ns.gid_mappings.empty();
  if (any && !ns.user())
    return std::unexpected(linux_field.error("uidMappings and gidMappings need a user namespace (linux.namespaces)"));
  if (ns.user() && (ns.uid_mappings.empty() || ns.gid_mappings.empty()))
    return std::unexpected(linux_field.error("a user namespace needs uidMappings and gidMappings"));
  return {};
}

// Sysctls the kernel keeps per namespace, and the namespace each needs of its own: others would
// change the host.
Status check_sysctl(const Field& f, const std::string& key, const runtime::ContainerSpec& s) {
  if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
      key.starts_with('.') || key.ends_with('.'))
    return std::unexpected(f.error(fmt::format("\"{}\" is not a sysctl name", key)));
  static constexpr std::array<std::string_view, 8> kIpc = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                                           "kernel.sem",    "kernel.shmall", "kernel.shmmax",
                                                           "kernel.shmmni", "kernel.shm_rmid_forced"};
  auto own = [&](int flag) { return (s.namespaces.create & static_cast<uint64_t>(flag)) != 0; };
  auto refuse = [&](std::string_view ns) {
    return std::unexpected(f.error(fmt::format("{} needs a {} namespace of the container's own", key, ns)));
  };
  if (std::find(kIpc.begin(), kIpc.end(), key) != kIpc.end() || key.starts_with("fs.mqueue.")) {
    if (!own(CLONE_NEWIPC)) return refuse("ipc");
    return {};
  }
  if (key.starts_with("net.")) {
    // A joined one (CRI's pod netns) is checked at create: it must not be the host's.
    if (s.network.mode == runtime::NetworkMode::kHost) return refuse("network");
    return {};
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") {
    if (!own(CLONE_NEWUTS)) return refuse("uts");
    return {};
  }
  return std::unexpected(f.error(fmt::format("{} is not namespaced: setting it would change the host", key)));
}

// One rule of linux.resources.devices as the v1 devices controller reads it: "allow c 10:229 rwm".
Result<std::string> device_rule(const Field& d) {
  SLW_TRY(d.object());
  bool allow = SLW_TRY(d.at("allow").boolean());
  std::string type = "a";
  if (auto t = d.member("type")) type = SLW_TRY(t->string());
  if (type != "a" && type != "c" && type != "b")
    return std::unexpected(d.at("type").error(fmt::format("unknown device type (a, c or b) \"{}\"", type)));
  std::string access = "rwm";
  if (auto a = d.member("access")) access = SLW_TRY(a->string());
  if (access.empty() || access.find_first_not_of("rwm") != std::string::npos)
    return std::unexpected(d.at("access").error(fmt::format("\"{}\" is not made of r, w and m", access)));
  auto number = [&](const char* key) -> Result<std::string> {
    auto f = d.member(key);
    if (!f) return std::string("*");
    int64_t n = SLW_TRY(f->integer());
    return n < 0 ? std::string("*") : std::to_string(n);
  };
  std::string what = type == "a" ? "a" : fmt::format("{} {}:{} {}", type, SLW_TRY(number("major")), SLW_TRY(number("minor")), access);
  return fmt::format("{} {}", allow ? "allow" : "deny", what);
}

Status read_resources(const Field& r, OciBundle& b) {
  SLW_TRY(r.object());
  runtime::ResourceSpec& res = b.spec.resources;
  auto warn = [&](const std::string& field) {
    b.warnings.push_back(fmt::format("{}: not supported by slipway yet, ignored", field));
  };
  if (auto memory = r.member("memory")) {
    SLW_TRY(memory->object());
    if (auto limit = memory->member("limit")) {
      int64_t v = SLW_TRY(limit->integer());
      if (v > 0) res.memory_bytes = v;  // -1: unlimited
    }
    for (const char* other : {"reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller"})
      if (memory->find(other)) warn(memory->join(other));
  }
  if (auto cpu = r.member("cpu")) {
    SLW_TRY(cpu->object());
    if (auto q = cpu->member("quota")) {
      int64_t quota = SLW_TRY(q->integer());
      if (quota > 0) res.cpu_quota_us = quota;
    }
    if (auto p = cpu->member("period")) {
      uint64_t period = SLW_TRY(p->unsigned_integer());
      if (period > 0) res.cpu_period_us = period;
    }
    if (auto cpus = cpu->member("cpus")) res.cpuset_cpus = SLW_TRY(cpus->string());
    if (auto mems = cpu->member("mems")) res.cpuset_mems = SLW_TRY(mems->string());
    if (auto shares = cpu->member("shares")) {
      uint64_t v = SLW_TRY(shares->unsigned_integer());
      if (v != 0) res.cpu_shares = v;  // 0: the kernel's default
    }
    for (const char* other : {"realtimeRuntime", "realtimePeriod", "idle"})
      if (const json* v = cpu->find(other); v && !(v->is_string() && v->get<std::string>().empty())) warn(cpu->join(other));
  }
  if (auto pids = r.member("pids")) {
    SLW_TRY(pids->object());
    if (auto limit = pids->member("limit")) {
      int64_t v = SLW_TRY(limit->integer());
      if (v > 0) res.pids = v;
    }
  }
  if (auto devices = r.member("devices")) {
    for (const Field& d : SLW_TRY(devices->array())) res.device_rules.push_back(SLW_TRY(device_rule(d)));
  }
  for (const char* other : {"hugepageLimits", "blockIO", "network", "rdma", "unified"})
    if (const json* v = r.find(other); v && !v->empty()) warn(r.join(other));
  return {};
}

// linux.devices: nodes made in the container's /dev (after its mounts).
Status read_devices(const Field& devices, runtime::ContainerSpec& s) {
  for (const Field& d : SLW_TRY(devices.array())) {
    SLW_TRY(d.object());
    runtime::DeviceNode node;
    node.path = SLW_TRY(d.at("path").string());
    if (!node.path.starts_with('/')) return std::unexpected(d.at("path").error("must be an absolute path"));
    std::string type = SLW_TRY(d.at("type").string());
    if (type != "c" && type != "u" && type != "b" && type != "p")
      return unknown(d.at("type"), "device type (c, u, b or p)", type);
    node.type = type[0] == 'u' ? 'c' : type[0];
    if (node.type != 'p') {
      node.major = static_cast<unsigned>(SLW_TRY(d.at("major").unsigned_integer()));
      node.minor = static_cast<unsigned>(SLW_TRY(d.at("minor").unsigned_integer()));
    }
    if (auto mode = d.member("fileMode")) node.mode = static_cast<mode_t>(SLW_TRY(mode->unsigned_integer()) & 07777);
    if (auto uid = d.member("uid")) node.uid = static_cast<uid_t>(SLW_TRY(uid->unsigned_integer()));
    if (auto gid = d.member("gid")) node.gid = static_cast<gid_t>(SLW_TRY(gid->unsigned_integer()));
    s.devices.push_back(std::move(node));
  }
  return {};
}

Result<unsigned long> propagation_of(const Field& f) {
  std::string value = SLW_TRY(f.string());
  ParsedMountOptions parsed = parse_mount_options({value});
  if (value.empty()) return 0UL;
  if (!parsed.propagation) return std::unexpected(f.error(fmt::format("unknown propagation \"{}\"", value)));
  return parsed.propagation;
}

Result<std::string> cgroup_name_of(const Field& f) {
  std::string path = SLW_TRY(f.string());
  if (path.find(':') != std::string::npos && !path.starts_with('/'))
    return std::unexpected(f.error(fmt::format("\"{}\" is a systemd slice path: slipway drives cgroupfs only", path)));
  std::filesystem::path p(path);
  for (const auto& part : p)
    if (part == "..") return std::unexpected(f.error(fmt::format("\"{}\" climbs out of the cgroup root", path)));
  std::string name = p.lexically_normal().relative_path().string();
  while (name.ends_with('/')) name.pop_back();
  return name;
}

Status read_linux(const Field& linux_field, OciBundle& b) {
  SLW_TRY(linux_field.object());
  runtime::ContainerSpec& s = b.spec;
  if (auto n = linux_field.member("namespaces")) SLW_TRY(read_namespaces(*n, b));
  SLW_TRY(read_id_mappings(linux_field, s.namespaces));
  if (auto r = linux_field.member("resources")) SLW_TRY(read_resources(*r, b));
  if (auto c = linux_field.member("cgroupsPath")) s.cgroup_name = SLW_TRY(cgroup_name_of(*c));
  if (auto sysctl = linux_field.member("sysctl")) {
    SLW_TRY(sysctl->object());
    for (const auto& [key, value] : sysctl->value.items()) {
      Field f = sysctl->at(key);
      std::string v = SLW_TRY(f.string());
      SLW_TRY(check_sysctl(f, key, s));
      s.sysctl.emplace_back(key, v);
    }
  }
  if (auto masked = linux_field.member("maskedPaths")) s.masked_paths = SLW_TRY(masked->strings());
  if (auto readonly = linux_field.member("readonlyPaths")) s.readonly_paths = SLW_TRY(readonly->strings());
  for (auto* list : {&s.masked_paths, &s.readonly_paths})
    for (const auto& p : list->value_or(std::vector<std::string>{}))
      if (!p.starts_with('/'))
        return std::unexpected(linux_field.error(fmt::format("masked and read-only paths must be absolute: \"{}\"", p)));
  if (auto seccomp = linux_field.member("seccomp")) {
    SLW_TRY(seccomp->object());
    s.security.seccomp = runtime::SeccompMode::kProfile;
    s.security.seccomp_profile = seccomp->value.dump();
  }
  if (auto p = linux_field.member("rootfsPropagation")) s.rootfs_propagation = SLW_TRY(propagation_of(*p));
  if (auto devices = linux_field.member("devices")) SLW_TRY(read_devices(*devices, s));
  for (const char* other : {"mountLabel", "intelRdt", "personality", "timeOffsets"})
    if (const json* v = linux_field.find(other); v && !(v->is_string() ? v->get<std::string>().empty() : v->empty()))
      b.warnings.push_back(fmt::format("{}: not supported by slipway on this host, ignored", linux_field.join(other)));
  return {};
}

Result<std::vector<OciHook>> read_hook_list(const Field& list) {
  std::vector<OciHook> hooks;
  for (const Field& h : SLW_TRY(list.array())) {
    SLW_TRY(h.object());
    OciHook hook;
    hook.path = SLW_TRY(h.at("path").string());
    if (!hook.path.starts_with('/')) return std::unexpected(h.at("path").error("must be an absolute path"));
    if (auto args = h.member("args")) hook.args = SLW_TRY(args->strings());
    if (auto env = h.member("env")) hook.env = SLW_TRY(env->strings());
    if (auto t = h.member("timeout")) {
      int64_t seconds = SLW_TRY(t->integer());
      if (seconds <= 0) return std::unexpected(t->error("must be above 0"));
      hook.timeout = std::chrono::seconds(seconds);
    }
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

Status read_hooks(const Field& h, OciHooks& hooks) {
  SLW_TRY(h.object());
  std::pair<const char*, std::vector<OciHook>*> lists[] = {
      {"prestart", &hooks.prestart},         {"createRuntime", &hooks.create_runtime},
      {"createContainer", &hooks.create_container}, {"startContainer", &hooks.start_container},
      {"poststart", &hooks.poststart},       {"poststop", &hooks.poststop}};
  for (auto& [name, list] : lists)
    if (auto f = h.member(name)) *list = SLW_TRY(read_hook_list(*f));
  return {};
}

Status read_config(const Field& doc, const OciPlace& place, OciBundle& b) {
  SLW_TRY(doc.object());
  b.oci_version = SLW_TRY(doc.at("ociVersion").string());
  if (!b.oci_version.starts_with("1."))
    return std::unexpected(doc.at("ociVersion").error(fmt::format("\"{}\" is not a 1.x runtime spec", b.oci_version)));
  runtime::ContainerSpec& s = b.spec;
  s.id = place.id;
  s.state_dir = place.state_dir;
  s.cache_dir = place.cache_dir;
  s.security.seccomp = runtime::SeccompMode::kUnconfined;
  s.security.no_new_privileges = false;
  s.security.capability_sets = runtime::CapabilitySets{};
  s.masked_paths = std::vector<std::string>{};
  s.readonly_paths = std::vector<std::string>{};
  s.mounts = std::vector<runtime::MountEntry>{};
  // Without a linux.namespaces list a container gets none of its own; slipway needs a mount one.
  s.namespaces.create = CLONE_NEWNS;
  s.network.mode = runtime::NetworkMode::kHost;
  // The bundle brings its own /etc; the launcher still writes its files into the state dir.
  Field root = doc.at("root");
  SLW_TRY(root.object());
  s.rootfs.plain_dir = SLW_TRY(absolute_in_bundle(root.at("path"), place.bundle));
  if (auto ro = root.member("readonly")) s.rootfs.read_only = SLW_TRY(ro->boolean());
  if (auto hostname = doc.member("hostname")) s.hostname = SLW_TRY(hostname->string());
  if (auto domainname = doc.member("domainname")) s.domainname = SLW_TRY(domainname->string());
  if (auto process = doc.member("process")) SLW_TRY(read_process(*process, b));
  if (auto mounts = doc.member("mounts")) SLW_TRY(read_mounts(*mounts, b, place));
  if (auto linux_field = doc.member("linux")) SLW_TRY(read_linux(*linux_field, b));
  if (auto hooks = doc.member("hooks")) SLW_TRY(read_hooks(*hooks, b.hooks));
  // A host binary run in the container's mount namespace would load its libraries from the image
  // (a hostile one gets host root); until they run from the child before its pivot, they run in
  // the runtime's namespaces.
  for (const auto& [kind, list] : {std::pair{"createContainer", &b.hooks.create_container},
                                   std::pair{"startContainer", &b.hooks.start_container}})
    if (!list->empty())
      b.warnings.push_back(fmt::format("hooks.{}: run in the runtime's namespaces, not the container's", kind));
  if (auto annotations = doc.member("annotations")) {
    SLW_TRY(annotations->object());
    for (const auto& [key, value] : annotations->value.items()) b.annotations[key] = SLW_TRY(annotations->at(key).string());
  }
  bool joins_uts = std::any_of(s.namespaces.join.begin(), s.namespaces.join.end(),
                               [](const runtime::NamespaceJoin& j) { return j.type == CLONE_NEWUTS; });
  if ((!s.hostname.empty() || !s.domainname.empty()) && !(s.namespaces.create & CLONE_NEWUTS) && !joins_uts)
    return std::unexpected(doc.error("hostname and domainname need a uts namespace of the container's own"));
  for (const char* other : {"windows", "solaris", "vm", "zos"})
    if (doc.find(other)) b.warnings.push_back(fmt::format("{}: not a Linux field, ignored", other));
  return {};
}

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

Result<OciBundle> parse_oci_config(std::string_view text, const OciPlace& place) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail("config.json: not JSON: {}", e.what());
  }
  OciBundle b;
  try {
    SLW_TRY_CTX(read_config(Field{doc, ""}, place, b), "config.json");
  } catch (const MissingField& missing) {
    return fail("config.json: {}: is required", missing.path);
  }
  return b;
}

Result<runtime::ResourceSpec> parse_oci_resources(std::string_view text, std::vector<std::string>& warnings) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail("resources: not JSON: {}", e.what());
  }
  OciBundle b;
  try {
    SLW_TRY(read_resources(Field{doc, "resources"}, b));
  } catch (const MissingField& missing) {
    return fail("{}: is required", missing.path);
  }
  warnings = std::move(b.warnings);
  if (!b.spec.resources.device_rules.empty()) warnings.push_back("resources.devices: not changed by update");
  return b.spec.resources;
}

Status apply_oci_process(std::string_view text, OciBundle& b) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return fail("process: not JSON: {}", e.what());
  }
  b.spec.process = {};
  b.spec.security.capability_sets = runtime::CapabilitySets{};
  b.spec.security.no_new_privileges = false;
  try {
    return read_process(Field{doc, "process"}, b);
  } catch (const MissingField& missing) {
    return fail("{}: is required", missing.path);
  }
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
