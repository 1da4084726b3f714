#include "engine/oci_container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/byte_json.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "engine/oci_hooks.h"
#include "engine/oci_rootfs_check.h"
#include "runtime/capabilities.h"
#include "runtime/cgroups.h"
#include "runtime/container_ops.h"
#include "runtime/container_store.h"
#include "runtime/launcher.h"

namespace slipway::engine {
namespace {

using nlohmann::json;

constexpr char kStateFile[] = "state.json";
constexpr char kStartFifo[] = "exec.fifo";
// config.json as it was at create: later edits of the bundle's must not affect the container.
constexpr char kConfigCopy[] = "config.json";
constexpr size_t kMaxConfigBytes = 16 << 20;

json to_json(const OciRecord& r) {
  return {{"ociVersion", r.oci_version}, {"id", r.id},           {"bundle", r.bundle},
          {"rootfs", r.rootfs},          {"created", r.created}, {"pid", r.pid},
          {"pid_start_time", r.pid_start_time}, {"cgroup", r.cgroup_name}, {"annotations", r.annotations},
          {"has_process", r.has_process}};
}

Result<OciRecord> record_from(const std::string& text, const std::string& path) {
  try {
    json j = json::parse(text);
    decode_byte_strings(j);
    OciRecord r;
    r.oci_version = j.at("ociVersion").get<std::string>();
    r.id = j.at("id").get<std::string>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.at("rootfs").get<std::string>();
    r.created = j.at("created").get<std::string>();
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start_time = j.at("pid_start_time").get<uint64_t>();
    r.cgroup_name = j.at("cgroup").get<std::string>();
    r.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    r.has_process = j.value("has_process", true);
    return r;
  } catch (const json::exception& e) {
    return fail("{}: {}", path, e.what());
  }
}

Result<runtime::Cgroup> open_cgroup(const OciRecord& r) {
  runtime::CgroupLayout layout = SLW_TRY(runtime::detect_cgroup_layout());
  return runtime::Cgroup::open_existing(layout, r.cgroup_name);
}

bool alive(const OciRecord& r) { return runtime::process_alive(r.pid, r.pid_start_time); }

// The caller's --console-socket, connected: the container's pty master goes there.
Result<UniqueFd> connect_console_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return fail("--console-socket {}: path too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("create console socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return fail_errno(fmt::format("connect to --console-socket {}", path));
  return fd;
}

Result<std::string> read_config(const std::string& bundle) {
  std::string path = fs::join(bundle, "config.json");
  UniqueFd fd = SLW_TRY(fs::open_file(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return fail_errno(path);
  if (!S_ISREG(st.st_mode)) return fail("{}: not a regular file", path);
  if (static_cast<size_t>(st.st_size) > kMaxConfigBytes) return fail("{}: larger than 16 MiB", path);
  return fs::read_all(fd.get(), path);
}

// A hard limit above this process's own needs CAP_SYS_RESOURCE, which some CI sandboxes drop (runc
// then fails the create): such a limit is lowered to ours, with a warning naming it.
void fit_rlimits(runtime::ProcessSpec& process, std::vector<std::string>& warnings) {
  auto last = runtime::kernel_last_capability();
  if (!last || (runtime::own_bounding_set(*last) & (uint64_t{1} << CAP_SYS_RESOURCE))) return;
  for (auto& r : process.rlimits) {
    rlimit own;
    if (::getrlimit(static_cast<__rlimit_resource>(r.resource), &own) < 0 || own.rlim_max == RLIM_INFINITY ||
        r.hard <= own.rlim_max)
      continue;
    warnings.push_back(fmt::format("process.rlimits: {} hard {} is above this runtime's own {} and "
                                   "CAP_SYS_RESOURCE is not available: lowered to {}",
                                   rlimit_name(r.resource), r.hard, own.rlim_max, own.rlim_max));
    r.hard = own.rlim_max;
    r.soft = std::min<uint64_t>(r.soft, r.hard);
  }
}

// net.* sysctls go to the network namespace the container joins; never to this process's own.
Status check_joined_network_sysctls(const runtime::ContainerSpec& s) {
  if (s.network.mode != runtime::NetworkMode::kJoin) return {};
  bool net = std::any_of(s.sysctl.begin(), s.sysctl.end(), [](const auto& kv) { return kv.first.starts_with("net."); });
  if (!net) return {};
  struct stat joined, own;
  if (::stat(s.network.join_path.c_str(), &joined) < 0) return fail_errno(fmt::format("namespace {}", s.network.join_path));
  if (::stat("/proc/self/ns/net", &own) < 0) return fail_errno("/proc/self/ns/net");
  if (joined.st_dev == own.st_dev && joined.st_ino == own.st_ino)
    return fail("linux.sysctl: net.* sysctls would change the host: the network namespace {} is the host's",
                s.network.join_path);
  return {};
}

// The host id that `id` of the container is, or nullopt when unmapped.
std::optional<uint32_t> host_id(const std::vector<runtime::IdMapping>& mappings, uint32_t id) {
  for (const auto& m : mappings)
    if (id >= m.container_id && id - m.container_id < m.size) return m.host_id + (id - m.container_id);
  return std::nullopt;
}

// In a user namespace the container's root waits on the start FIFO as a host user of the mapping:
// the FIFO is that user's, and its directory searchable (not listable) by others.
Status open_fifo_to_namespace_root(const std::string& dir, const std::string& fifo, const runtime::NamespaceSpec& ns) {
  auto uid = host_id(ns.uid_mappings, 0), gid = host_id(ns.gid_mappings, 0);
  if (!uid || !gid) return fail("linux.uidMappings and gidMappings must map the container's root (id 0)");
  if (::chmod(dir.c_str(), 0711) < 0 || ::chown(fifo.c_str(), *uid, *gid) < 0)
    return fail_errno(fmt::format("give {} to the user namespace's root", fifo));
  return {};
}

// Waits until `pid` (a pidfd) has exited, at most `limit`.
bool wait_gone(int pidfd, std::chrono::milliseconds limit) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) > 0;
}

}  // namespace

std::string_view to_string(OciStatus s) {
  switch (s) {
    case OciStatus::kCreating: return "creating";
    case OciStatus::kCreated: return "created";
    case OciStatus::kRunning: return "running";
    case OciStatus::kPaused: return "paused";
    case OciStatus::kStopped: return "stopped";
  }
  return "unknown";
}

std::string oci_state_json(const OciState& s) {
  const OciRecord& r = s.record;
  json j = {{"ociVersion", r.oci_version},
            {"id", r.id},
            {"status", to_string(s.status)},
            {"pid", s.status == OciStatus::kStopped ? 0 : r.pid},
            {"bundle", r.bundle},
            {"rootfs", r.rootfs},
            {"created", r.created},
            {"owner", ""}};
  if (!r.annotations.empty()) j["annotations"] = r.annotations;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status check_container_id(const std::string& id) {
  if (id.empty()) return fail("a container ID is required");
  if (id == "." || id == ".." || id.size() > 1024 ||
      !std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.';
      }))
    return fail("invalid container ID \"{}\": use letters, digits, '_', '+', '-' and '.'", id);
  return {};
}

Result<int> parse_signal(const std::string& name) {
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
    int n = std::atoi(name.c_str());
    if (n <= 0 || n >= NSIG) return fail("invalid signal {}", name);
    return n;
  }
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.starts_with("SIG")) upper.erase(0, 3);
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    if (abbrev && upper == abbrev) return sig;
  }
  return fail("unknown signal \"{}\"", name);
}

Result<OciRuntime> OciRuntime::open(std::string root, std::string cache_dir) {
  SLW_TRY_CTX(fs::make_dirs(root, 0700), "runtime root {}", root);
  return OciRuntime(std::move(root), std::move(cache_dir));
}

std::string OciRuntime::dir(const std::string& id) const { return fs::join(root_, id); }

Result<OciRecord> OciRuntime::load(const std::string& id) const {
  SLW_TRY(check_container_id(id));
  std::string path = fs::join(dir(id), kStateFile);
  if (!fs::exists(dir(id))) return fail("container {} does not exist", id);
  auto text = fs::read_file(path);
  if (!text) return fail("container {} is still being created (or its create failed)", id);
  return record_from(*text, path);
}

Result<OciBundle> OciRuntime::load_bundle(const OciRecord& r) const {
  std::string text = SLW_TRY(fs::read_file(fs::join(dir(r.id), kConfigCopy)));
  return parse_oci_config(text, {r.id, r.bundle, dir(r.id), cache_dir_});
}

Result<pid_t> OciRuntime::create(const std::string& id, const OciCreateOptions& options) {
  SLW_TRY(check_container_id(id));
  std::error_code ec;
  std::string bundle = std::filesystem::absolute(options.bundle, ec).lexically_normal().string();
  if (ec) return fail("bundle {}: {}", options.bundle, ec.message());
  while (bundle.size() > 1 && bundle.ends_with('/')) bundle.pop_back();
  std::string text = SLW_TRY(read_config(bundle));
  std::string state_dir = dir(id);
  OciBundle b = SLW_TRY(parse_oci_config(text, {id, bundle, state_dir, cache_dir_}));
  if (!b.has_process) return create_without_process(id, bundle, text, b);
  fit_rlimits(b.spec.process, b.warnings);
  if (!b.spec.resources.device_rules.empty()) {
    auto layout = runtime::detect_cgroup_layout();
    if (layout && !layout->uses_v1())
      b.warnings.push_back("linux.resources.devices: not applied on a cgroup v2 host (it needs an eBPF program, not "
                           "written yet)");
  }
  for (const auto& w : b.warnings) log::warn("{}", w);
  if (!fs::is_dir(b.spec.rootfs.plain_dir)) return fail("root.path {}: not a directory", b.spec.rootfs.plain_dir);
  SLW_TRY(check_joined_network_sysctls(b.spec));
  SLW_TRY(check_mount_destinations(b.spec.rootfs.plain_dir, *b.spec.mounts));
  if (b.spec.process.terminal && options.console_socket.empty())
    return fail("process.terminal is true: --console-socket is required to receive the terminal");
  if (!b.spec.process.terminal && !options.console_socket.empty())
    return fail("--console-socket is given but process.terminal is false");

  SLW_TRY(claim(id, text));
  auto cleanup = ScopeExit([&] { (void)fs::remove_tree(state_dir); });
  std::string fifo = fs::join(state_dir, kStartFifo);
  if (::mkfifo(fifo.c_str(), 0600) < 0) return fail_errno(fmt::format("create {}", fifo));
  b.spec.start_fifo = fifo;
  if (b.spec.namespaces.user()) SLW_TRY(open_fifo_to_namespace_root(state_dir, fifo, b.spec.namespaces));

  runtime::LaunchOptions launch;
  launch.stdio.pass_through = true;
  launch.stdio.terminal = b.spec.process.terminal;
  launch.preserve_fds = options.preserve_fds;
  UniqueFd console;
  if (b.spec.process.terminal) {
    console = SLW_TRY(connect_console_socket(options.console_socket));
    launch.stdio.console_socket = console.get();
  }
  OciRecord r = new_record(id, bundle, b);
  r.cgroup_name = b.spec.cgroup_name.empty() ? runtime::container_cgroup_name(id) : b.spec.cgroup_name;
  // The record is written as soon as the process exists (before the hooks), so that a create
  // killed from here on leaves a container `delete` can find. The hooks run while the child waits
  // with its mounts made, before its pivot_root, as the spec places them.
  launch.hold_before_pivot = !b.hooks.prestart.empty() || !b.hooks.create_runtime.empty() ||
                             !b.hooks.create_container.empty();
  launch.before_exec = [&](pid_t pid) -> Status {
    r.pid = pid;
    r.pid_start_time = runtime::process_start_time(pid);
    SLW_TRY(fs::write_file_atomic(fs::join(state_dir, kStateFile), dump_byte_safe(to_json(r)), 0600));
    std::string state = oci_state_json({r, OciStatus::kCreated});  // what the validation suite expects
    SLW_TRY(run_oci_hooks(b.hooks.prestart, "prestart", state));
    SLW_TRY(run_oci_hooks(b.hooks.create_runtime, "createRuntime", state));
    return run_oci_hooks(b.hooks.create_container, "createContainer", state);
  };
  runtime::StartedContainer c = SLW_TRY(runtime::start_container(b.spec, launch));
  auto kill_it = ScopeExit([&] { (void)c.cgroup.kill_all(SIGKILL); });
  if (!options.pid_file.empty())
    SLW_TRY_CTX(fs::write_file_atomic(options.pid_file, std::to_string(c.pid), 0644), "--pid-file {}",
                options.pid_file);
  kill_it.release();
  cleanup.release();
  c.cgroup.release();  // it outlives this process, and goes with `delete`
  return c.pid;
}

// The state directory is the container's claim on its ID, made by exactly one create; it gets the
// config as it is now. The caller removes it on a later failure.
Status OciRuntime::claim(const std::string& id, const std::string& config_text) const {
  std::string state_dir = dir(id);
  if (::mkdir(state_dir.c_str(), 0700) < 0) {
    if (errno == EEXIST) return fail("container {} already exists", id);
    return fail_errno(fmt::format("create {}", state_dir));
  }
  auto cleanup = ScopeExit([&] { (void)fs::remove_tree(state_dir); });
  SLW_TRY(fs::write_file(fs::join(state_dir, kConfigCopy), config_text, 0600));
  cleanup.release();
  return {};
}

OciRecord OciRuntime::new_record(const std::string& id, const std::string& bundle, const OciBundle& b) {
  OciRecord r;
  r.oci_version = b.oci_version;
  r.id = id;
  r.bundle = bundle;
  r.rootfs = b.spec.rootfs.plain_dir;
  r.created = runtime::now_rfc3339();
  r.annotations = b.annotations;
  return r;
}

// The spec allows a config without `process`: such a container is recorded as created and can be
// inspected and deleted, but never started.
Result<pid_t> OciRuntime::create_without_process(const std::string& id, const std::string& bundle,
                                                 const std::string& text, const OciBundle& b) {
  std::string state_dir = dir(id);
  SLW_TRY(claim(id, text));
  auto cleanup = ScopeExit([&] { (void)fs::remove_tree(state_dir); });
  OciRecord r = new_record(id, bundle, b);
  r.has_process = false;
  SLW_TRY(fs::write_file_atomic(fs::join(state_dir, kStateFile), dump_byte_safe(to_json(r)), 0600));
  cleanup.release();
  return 0;
}

Status OciRuntime::start(const std::string& id) {
  OciState s = SLW_TRY(state(id));
  if (!s.record.has_process) return fail("container {} has no process to start: its config.json has none", id);
  if (s.status != OciStatus::kCreated)
    return fail("container {} is {}: only a created container can be started", id, to_string(s.status));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.record.pid, 0)));
  if (!pidfd || !alive(s.record)) return fail("container {} has exited", id);
  OciBundle b = SLW_TRY(load_bundle(s.record));
  std::string state_json = oci_state_json(s);
  SLW_TRY(run_oci_hooks(b.hooks.start_container, "startContainer", state_json));
  std::string fifo_path = fs::join(dir(id), kStartFifo);
  // Non-blocking, so that a process that died meanwhile is seen (its pidfd) instead of waited on.
  UniqueFd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) return fail_errno(fmt::format("open {}", fifo_path));
  pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for the container to start");
    }
    char byte;
    if ((fds[0].revents & POLLIN) && ::read(fifo.get(), &byte, 1) == 1) break;
    if (fds[1].revents) return fail("container {} exited before it started", id);
  }
  ::unlink(fifo_path.c_str());
  SLW_TRY_CTX(runtime::await_exec_after_start(fifo.get(), pidfd.get()), "start container {}", id);
  s.status = OciStatus::kRunning;
  if (auto st = run_oci_hooks(b.hooks.poststart, "poststart", oci_state_json(s)); !st)
    log::warn("{}", st.error().message());
  return {};
}

Result<OciState> OciRuntime::state(const std::string& id) const {
  OciState s;
  s.record = SLW_TRY(load(id));
  if (!s.record.has_process) {
    s.status = OciStatus::kCreated;
  } else if (!alive(s.record)) {
    s.status = OciStatus::kStopped;
  } else if (fs::exists(fs::join(dir(id), kStartFifo))) {
    s.status = OciStatus::kCreated;
  } else {
    auto cg = open_cgroup(s.record);
    s.status = cg && cg->frozen() ? OciStatus::kPaused : OciStatus::kRunning;
    if (cg) cg->release();
  }
  return s;
}

Result<std::vector<OciState>> OciRuntime::list() const {
  std::vector<OciState> out;
  for (const auto& name : SLW_TRY(fs::list_dir(root_))) {
    if (!check_container_id(name) || !fs::is_dir(dir(name))) continue;
    auto s = state(name);
    if (s) out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const OciState& a, const OciState& b) { return a.record.id < b.record.id; });
  return out;
}

Status OciRuntime::kill(const std::string& id, int signal, bool all) {
  OciState s = SLW_TRY(state(id));
  // containerd's shim recognizes "container not running" and reports the process as gone.
  if (s.status == OciStatus::kStopped || !s.record.has_process)
    return fail("cannot signal container {}: container not running", id);
  if (all) {
    runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
    auto keep = ScopeExit([&] { cg.release(); });
    return cg.kill_all(signal);
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.record.pid, 0)));
  if (!pidfd || !alive(s.record)) return fail("cannot signal container {}: container not running", id);
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) < 0)
    return fail_errno(fmt::format("send signal {} to container {}", signal, id));
  return {};
}

Status OciRuntime::remove(const std::string& id, bool force) {
  SLW_TRY(check_container_id(id));  // before anything is removed by name
  auto loaded = state(id);
  if (!loaded) {
    // runc's delete --force of a container that is not there succeeds.
    if (force && !fs::exists(dir(id))) return {};
    if (force && fs::exists(dir(id))) return fs::remove_tree(dir(id));
    return std::unexpected(loaded.error());
  }
  OciState s = std::move(*loaded);
  if (s.status != OciStatus::kStopped && s.record.has_process) {
    // The spec's rule, also for a created container (runc deletes that one anyway): kill it first.
    if (!force) return fail("container {} is {}: stop it first or use delete --force", id, to_string(s.status));
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, s.record.pid, 0)));
    if (auto cg = open_cgroup(s.record)) {
      if (s.status == OciStatus::kPaused) (void)cg->freeze(false);
      (void)cg->kill_all(SIGKILL);
      cg->release();
    }
    if (pidfd) {
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
      if (!wait_gone(pidfd.get(), std::chrono::seconds(10)))
        return fail("container {} did not stop within 10 s of SIGKILL", id);
    }
  }
  if (!s.record.cgroup_name.empty())
    if (auto cg = open_cgroup(s.record)) SLW_TRY(cg->destroy());
  auto b = load_bundle(s.record);
  SLW_TRY(fs::remove_tree(dir(id)));
  s.status = OciStatus::kStopped;
  if (b) {
    if (auto st = run_oci_hooks(b->hooks.poststop, "poststop", oci_state_json(s)); !st)
      log::warn("{}", st.error().message());
  }
  return {};
}

Result<std::vector<pid_t>> OciRuntime::pids(const std::string& id) const {
  OciState s = SLW_TRY(state(id));
  if (s.status == OciStatus::kStopped || !s.record.has_process) return std::vector<pid_t>{};
  runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
  auto keep = ScopeExit([&] { cg.release(); });
  return cg.pids();
}

Result<int> OciRuntime::exec(const std::string& id, const OciExecOptions& o) {
  OciState s = SLW_TRY(state(id));
  if (!s.record.has_process) return fail("container {} has no process to exec into", id);
  if (s.status != OciStatus::kRunning && s.status != OciStatus::kCreated)
    return fail("container {} is {}: exec needs a running container", id, to_string(s.status));
  OciBundle b = SLW_TRY(load_bundle(s.record));
  runtime::ProcessSpec& p = b.spec.process;
  if (!o.process_file.empty()) {
    std::string text = SLW_TRY(fs::read_file(o.process_file));
    SLW_TRY_CTX(apply_oci_process(text, b), "--process {}", o.process_file);
    fit_rlimits(p, b.warnings);
    for (const auto& w : b.warnings) log::warn("{}", w);
  } else {
    if (o.args.empty()) return fail("exec: no command given (a COMMAND or --process FILE)");
    p.args = o.args;
    p.terminal = o.tty;
  }
  p.env.insert(p.env.end(), o.env.begin(), o.env.end());
  if (!o.cwd.empty()) p.cwd = o.cwd;
  if (o.user) {
    p.uid = o.user->first;
    p.gid = o.user->second;
  }
  if (p.terminal && o.detach && o.console_socket.empty())
    return fail("a detached exec with a terminal needs --console-socket to receive it");
  if (!p.terminal && !o.console_socket.empty()) return fail("--console-socket is given but the process has no terminal");

  runtime::ExecOptions exec;
  exec.args = p.args;
  exec.detach = o.detach;
  if (!o.pid_file.empty())
    exec.started = [&](pid_t pid) -> Status {
      return with_context(fs::write_file_atomic(o.pid_file, std::to_string(pid), 0644), fmt::format("--pid-file {}", o.pid_file));
    };
  exec.stdio.terminal = p.terminal;
  UniqueFd console;
  if (p.terminal && o.console_socket.empty()) {
    // In the foreground on a terminal of our own: copied through, as `slipway exec -t`.
    exec.stdio.size_from = ::isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
  } else {
    exec.stdio.pass_through = true;
    if (p.terminal) {
      console = SLW_TRY(connect_console_socket(o.console_socket));
      exec.stdio.console_socket = console.get();
    }
  }
  runtime::ExecTarget target{id, s.record.pid, s.record.pid_start_time, s.record.cgroup_name, &b.spec};
  return runtime::exec_process(target, exec);
}

Status OciRuntime::update(const std::string& id, std::string_view resources_json) {
  OciState s = SLW_TRY(state(id));
  if (s.status == OciStatus::kStopped || !s.record.has_process)
    return fail("cannot update container {}: container not running", id);
  std::vector<std::string> warnings;
  runtime::ResourceSpec r = SLW_TRY(parse_oci_resources(resources_json, warnings));
  for (const auto& w : warnings) log::warn("{}", w);
  runtime::CgroupLimits limits{r.memory_bytes, r.cpus,          r.pids,          false,
                               r.cpu_shares,   {},              r.cpu_quota_us,  r.cpu_period_us,
                               r.cpuset_cpus,  r.cpuset_mems};
  runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
  auto keep = ScopeExit([&] { cg.release(); });
  return with_context(cg.update(limits), fmt::format("update container {}", id));
}

Result<std::string> OciRuntime::stats_event(const std::string& id) const {
  OciState s = SLW_TRY(state(id));
  if (s.status == OciStatus::kStopped || !s.record.has_process)
    return fail("no stats of container {}: container not running", id);
  runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
  auto keep = ScopeExit([&] { cg.release(); });
  runtime::Cgroup::Usage u = cg.usage();
  json data = json::object();
  if (u.cpu_ns >= 0) data["cpu"] = {{"usage", {{"total", u.cpu_ns}}}};
  if (u.memory_bytes >= 0) {
    data["memory"] = {{"usage", {{"usage", u.memory_bytes}}}};
    if (u.memory_limit >= 0) data["memory"]["usage"]["limit"] = u.memory_limit;
  }
  if (u.pids >= 0) data["pids"] = {{"current", u.pids}};
  return json{{"type", "stats"}, {"id", id}, {"data", data}}.dump();
}

Status OciRuntime::pause(const std::string& id) {
  OciState s = SLW_TRY(state(id));
  if (!s.record.has_process) return fail("container {} has no process to pause", id);
  if (s.status != OciStatus::kRunning && s.status != OciStatus::kCreated)
    return fail("container {} is {}: only a running container can be paused", id, to_string(s.status));
  runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
  auto keep = ScopeExit([&] { cg.release(); });
  return cg.freeze(true);
}

Status OciRuntime::resume(const std::string& id) {
  OciState s = SLW_TRY(state(id));
  if (s.status != OciStatus::kPaused) return fail("container {} is {}, not paused", id, to_string(s.status));
  runtime::Cgroup cg = SLW_TRY(open_cgroup(s.record));
  auto keep = ScopeExit([&] { cg.release(); });
  return cg.freeze(false);
}

}  // namespace slipway::engine
