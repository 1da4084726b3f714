// A container's root file system from the host, for `cp`: a running container's through its
// /proc/PID/root, a stopped one's overlay mounted again in a mount namespace of its own.
#pragma once

#include <functional>

#include "base/error.h"
#include "runtime/container_spec.h"
#include "runtime/container_store.h"

namespace slipway::runtime {

// A volatile overlay (mount_plan.cc) leaves work/work/incompat/volatile behind, and the kernel
// refuses to mount that work dir again: its upper dir may have missed writes in a crash. A later
// mount (`start`, --restart, `cp` into a stopped container) follows a clean exit, so the upper
// dir is synced and the marker goes.
Status reuse_volatile_upper(const RootfsSpec& rootfs);

// Calls fn with a directory fd of the container's "/". For a stopped container fn runs in a child
// process (in a private mount namespace where the overlay is mounted), so it must not rely on
// changing this process's memory; its error comes back as text.
Status with_container_root(const ContainerStore& store, const ContainerRecord& record,
                           const std::function<Status(int root_fd)>& fn);

}  // namespace slipway::runtime
