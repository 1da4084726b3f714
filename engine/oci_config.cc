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

#include "engine/oci_json_field.h"
#include "runtime/capabilities.h"

namespace slipway::engine {
namespace {

using oci_json::Field;
using oci_json::json;
using oci_json::read_resources;
using oci_json::unknown;

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
  s.resources.cpu_accounting = true;  // `events --stats` and `update` of the CPU, as with runc
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

Result<OciBundle> parse_oci_config(std::string_view text, const OciPlace& place) {
  OciBundle b;
  SLW_TRY(oci_json::read_document(text, "", "config.json", [&](const Field& doc) { return read_config(doc, place, b); }));
  return b;
}

Status apply_oci_process(std::string_view text, OciBundle& b) {
  b.spec.process = {};
  b.spec.security.capability_sets = runtime::CapabilitySets{};
  b.spec.security.no_new_privileges = false;
  return oci_json::read_document(text, "process", "", [&](const Field& doc) { return read_process(doc, b); });
}

}  // namespace slipway::engine
