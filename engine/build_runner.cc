#include "engine/build_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/fs.h"
#include "base/random_id.h"
#include "base/scope_exit.h"
#include "oci/build/rootfs.h"
#include "engine/container_config.h"
#include "engine/container_network.h"
#include "engine/user_lookup.h"
#include "runtime/launcher.h"

namespace slipway::engine {

namespace {

// The host name of build containers: fixed, so that nothing host- or run-dependent leaks into
// files a RUN writes.
constexpr std::string_view kBuildHostname = "slipway-build";

}  // namespace

const std::vector<std::string>& runtime_mount_stubs() {
  static const std::vector<std::string> kStubs = {"proc",         "sys",       "dev",
                                                  "etc/hostname", "etc/hosts", "etc/resolv.conf"};
  return kStubs;
}

Result<bool> make_mount_stub_layer(const std::string& stub_dir,
                                   const std::vector<std::string>& lower_dirs) {
  oci::LayerStack lowers(lower_dirs);
  std::map<std::string, int64_t> dir_times;
  bool made = false;
  for (const auto& stub : runtime_mount_stubs()) {
    // The runtime follows a dangling symlink (/etc/resolv.conf -> ../run/...) to make the target.
    oci::PathParts path = SLW_TRY(lowers.resolve(stub, true));
    if (path.empty() || SLW_TRY(lowers.lookup(path))) continue;
    made = true;
    for (std::size_t n = 1; n < path.size(); ++n) {
      oci::PathParts dir(path.begin(), path.begin() + static_cast<long>(n));
      std::string host = stub_dir + oci::join_path(dir);
      if (fs::is_dir(host)) continue;
      auto below = SLW_TRY(lowers.lookup(dir));
      mode_t mode = below && S_ISDIR(below->st.st_mode) ? below->st.st_mode & 07777 : 0755;
      if (::mkdir(host.c_str(), mode) < 0 || ::chmod(host.c_str(), mode) < 0)
        return fail_errno(fmt::format("make {}", host));
      if (below && S_ISDIR(below->st.st_mode)) {
        // A copy-up takes the top-most lower dir's metadata: it must be the image's own.
        if (::lchown(host.c_str(), below->st.st_uid, below->st.st_gid) < 0)
          return fail_errno(fmt::format("chown {}", host));
        dir_times[host] = below->st.st_mtim.tv_sec;
      }
    }
    std::string host = stub_dir + oci::join_path(path);
    bool is_dir = stub.find('/') == std::string::npos;  // proc, sys, dev; the rest are files
    if (!is_dir) {
      SLW_TRY(fs::write_file(host, "", 0644));
    } else if (::mkdir(host.c_str(), 0755) < 0) {
      return fail_errno(fmt::format("make {}", host));
    }
  }
  for (const auto& [host, mtime] : dir_times) {
    struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(mtime), 0}};
    if (::utimensat(AT_FDCWD, host.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_errno(fmt::format("set mtime of {}", host));
  }
  return made;
}

Result<int> BuildRunner::run(const oci::RunStepSpec& step) {
  if (step.argv.empty()) return fail("RUN has no command");
  if (!containers_) containers_ = SLW_TRY(runtime::ContainerStore::open(SLW_TRY(run_root_())));
  runtime::ContainerStore& containers = *containers_;
  RunOptions o;
  o.hostname = std::string(kBuildHostname);
  o.entrypoint = step.argv.front();
  o.command.assign(step.argv.begin() + 1, step.argv.end());
  o.env = step.env;
  o.workdir = step.cwd;
  o.user = step.user;
  // "default" is Docker's build network: the default bridge network, leased like a `run`.
  o.net = step.network == "default" ? std::string(kDefaultNetwork) : step.network;
  ContainerInputs in;
  in.id = random_hex_id();
  in.state_dir = containers.dir(in.id);
  in.cache_dir = fs::join(store_root_, "cache");
  in.layer_dirs = step.lower_dirs;
  runtime::ContainerRecord record;
  record.spec = SLW_TRY(build_container_spec(o, in, layered_rootfs_reader(step.lower_dirs)));
  record.spec.rootfs.upper_dir = step.upper_dir;
  record.spec.rootfs.work_dir = step.work_dir;
  for (std::size_t i = 0; i < step.files.size(); ++i) {
    std::string host = fs::join(step.scratch_dir, fmt::format("file-{}", i));
    SLW_TRY(fs::write_file(host, step.files[i].data, 0755));
    record.spec.binds.push_back({host, step.files[i].path, true});
  }
  record.id = in.id;
  record.name = "build-" + in.id.substr(0, 12);
  record.image = "(build step)";
  record.auto_remove = true;
  // The lease is given back by its destructor, when this step's container has ended.
  auto network = SLW_TRY(ContainerNetwork::prepare(store_root_, containers, o, record.name, record.spec));
  runtime::ContainerHooks hooks = ContainerNetwork::hooks(network);
  record = SLW_TRY(containers.create(std::move(record)));
  ScopeExit forget([&] { (void)containers.remove(record); });
  // In the container's own dir (on the run root's tmpfs by default): it goes with the record.
  std::string stubs = fs::join(in.state_dir, "stubs");
  SLW_TRY(fs::make_dirs(stubs, 0755));
  if (SLW_TRY(make_mount_stub_layer(stubs, step.lower_dirs))) {
    record.spec.rootfs.lower_dirs.push_back(stubs);
  }

  runtime::LaunchOptions launch;
  launch.stdio.in = -1;  // RUN steps read an empty stdin, as with BuildKit
  launch.before_exec = hooks.before_exec;
  runtime::StartedContainer started = SLW_TRY(runtime::start_container(record.spec, launch));
  runtime::ContainerState state;
  state.status = runtime::ContainerStatus::kRunning;
  state.pid = started.pid;
  state.pid_start_time = runtime::process_start_time(started.pid);
  state.supervisor_pid = ::getpid();
  state.supervisor_start_time = runtime::process_start_time(state.supervisor_pid);
  state.started_at = runtime::now_rfc3339();
  (void)containers.save_state(record.id, state);

  runtime::WaitOptions wait;
  // An interrupted build kills the step at once: the cancel fd turning readable is handled like
  // the exit of a network holder, with no grace time.
  wait.holder_pidfd = cancel_fd_;
  wait.holder_grace = std::chrono::milliseconds(0);
  runtime::ExitStatus exit = SLW_TRY(runtime::wait_container(started, wait));
  if (hooks.finished) hooks.finished();
  if (exit.holder_exited) return fail("interrupted");
  return exit.exit_code;
}

}  // namespace slipway::engine
