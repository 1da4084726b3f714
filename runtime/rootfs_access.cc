#include "runtime/rootfs_access.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "runtime/container_ops.h"
#include "runtime/mount_plan.h"

namespace slipway::runtime {

Status reuse_volatile_upper(const RootfsSpec& rootfs) {
  std::string work = fs::join(rootfs.work_dir, "work");
  if (!fs::exists(fs::join(work, "incompat/volatile"))) return {};
  UniqueFd upper = SLW_TRY(fs::open_file(rootfs.upper_dir, O_RDONLY | O_DIRECTORY));
  if (::syncfs(upper.get()) < 0) return fail_errno(fmt::format("sync {}", rootfs.upper_dir));
  return fs::remove_tree(work);
}

namespace {

// The overlay as the container had it, but not volatile: what is written now must last.
Status mount_stopped_rootfs(const RootfsSpec& rootfs, const std::string& target) {
  std::string options = overlay_options(rootfs);
  constexpr std::string_view kVolatile = ",volatile";
  if (options.ends_with(kVolatile)) options.resize(options.size() - kVolatile.size());
  if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) < 0)
    return fail_errno("mount the container's file system");
  return {};
}

// Runs fn in a child with its own mount namespace, where the stopped container's rootfs is
// mounted on `target`; the mount goes with the child.
Status in_private_mount(const RootfsSpec& rootfs, const std::string& target,
                        const std::function<Status(int root_fd)>& fn) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) return fail_errno("create pipe");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    read_end.reset();
    Status st = [&]() -> Status {
      if (::unshare(CLONE_NEWNS) < 0) return fail_errno("unshare mount namespace");
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        return fail_errno("make mounts private");
      SLW_TRY(mount_stopped_rootfs(rootfs, target));
      UniqueFd root = SLW_TRY(fs::open_file(target, O_PATH | O_DIRECTORY));
      return fn(root.get());
    }();
    if (!st) {
      std::string message = st.error().message();
      (void)!::write(write_end.get(), message.data(), message.size());
    }
    ::_exit(st ? 0 : 1);
  }
  write_end.reset();
  std::string message = fs::read_all(read_end.get(), "copy process").value_or("");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return fail("{}", message.empty() ? std::string("the copy process died") : message);
}

}  // namespace

Status with_container_root(const ContainerStore& store, const ContainerRecord& record,
                           const std::function<Status(int root_fd)>& fn) {
  ContainerState s = SLW_TRY(store.current_state(record.id));
  const RootfsSpec& rootfs = record.spec.rootfs;
  if (container_running(s)) {
    UniqueFd root = SLW_TRY(fs::open_file(fmt::format("/proc/{}/root", s.pid), O_PATH | O_DIRECTORY));
    // The pid may have been reused between the state read and the open.
    if (!process_alive(s.pid, s.pid_start_time)) return fail("container {} stopped", record.name);
    return fn(root.get());
  }
  if (s.status == ContainerStatus::kRestarting)
    return fail("container {} is restarting: try again once it runs", record.name);
  if (!rootfs.plain_dir.empty()) {
    UniqueFd root = SLW_TRY(fs::open_file(rootfs.plain_dir, O_PATH | O_DIRECTORY));
    return fn(root.get());
  }
  if (rootfs.writable_size)
    return fail("container {} kept its writable layer in memory (--storage-opt size): it went when it stopped",
                record.name);
  for (const auto& dir : rootfs.lower_dirs)
    if (!fs::exists(dir)) return fail("container {}: its image's layers were removed", record.name);
  SLW_TRY(fs::make_dirs(rootfs.upper_dir));
  SLW_TRY(fs::make_dirs(rootfs.work_dir));
  SLW_TRY(reuse_volatile_upper(rootfs));
  std::string target = fs::join(record.spec.state_dir, "rootfs");
  SLW_TRY(fs::make_dirs(target));
  return in_private_mount(rootfs, target, fn);
}

}  // namespace slipway::runtime
