#include "runtime/readonly_binary.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/unique_fd.h"

extern char** environ;

namespace slipway::runtime {
namespace {

UniqueFd open_own_executable() { return UniqueFd(::open("/proc/self/exe", O_PATH | O_CLOEXEC)); }

bool on_readonly_mount(int fd) {
  struct statvfs st {};
  return ::fstatvfs(fd, &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

}  // namespace

bool can_reach_runtime_binary(const ContainerSpec& spec) {
  return (spec.security.capabilities & (uint64_t{1} << CAP_SYS_PTRACE)) != 0;
}

Status reexec_from_readonly_binary(char** argv) {
  if (::geteuid() != 0) return {};
  UniqueFd exe = open_own_executable();
  if (!exe) return fail_errno("open /proc/self/exe");
  if (on_readonly_mount(exe.get())) return {};
  // A bind mount of the file alone, attached to no mount namespace, then made read-only.
  UniqueFd view(static_cast<int>(::syscall(SYS_open_tree, exe.get(), "",
                                           AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!view) return fail_errno("run from a read-only view of the slipway binary: open_tree");
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::syscall(SYS_mount_setattr, view.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return fail_errno("run from a read-only view of the slipway binary: mount_setattr");
  ::syscall(SYS_execveat, view.get(), "", argv, environ, AT_EMPTY_PATH);
  return fail_errno("run from a read-only view of the slipway binary: execveat");
}

}  // namespace slipway::runtime
