// Checks of an OCI bundle against its rootfs before anything is mounted.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_spec.h"

namespace slipway::engine {

// Refuses a mount destination that a symlink in the rootfs leads out of the rootfs ("../../etc"):
// the launcher resolves destinations inside the root anyway, so such a mount could only land
// somewhere the bundle did not mean; a bundle that tries is broken or hostile. Absolute symlinks
// are read inside the root, as runc reads them. Error: `mounts[3].destination /evil/x: the symlink
// /evil leads out of the rootfs`.
[[nodiscard]] Status check_mount_destinations(const std::string& rootfs,
                                              const std::vector<runtime::MountEntry>& mounts);

}  // namespace slipway::engine
