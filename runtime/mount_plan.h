// The mounts that make a container's filesystem, computed up front as plain data (no syscalls) so the
// post-clone child only walks a list, and so the plan is unit-testable without root.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/container_spec.h"

namespace slipway::runtime {

struct MountOp {
  enum class Kind {
    kMount,         // mount(source, target, fstype, flags, data)
    kBind,          // bind source (host path) to target; read-only via a second remount
    kDevice,        // mknod target with mode and dev
    kSymlink,       // symlink source -> target
    kMask,          // read-only empty tmpfs over a dir, /dev/null over anything else (after
                    // pivot; skipped when absent)
    kReadOnly,      // bind target onto itself read-only (after pivot; skipped when absent)
    kDirectory,     // make the target a directory if missing (the working dir, before a read-only root)
  };
  Kind kind = Kind::kMount;
  std::string source;
  std::string target;  // absolute path inside the container
  std::string fstype;
  std::string data;
  unsigned long flags = 0;
  bool read_only = false;       // kBind: remount read-only after binding
  unsigned long remount_flags = 0;  // kBind: remount with these too (MS_NOSUID, MS_NODEV, ...)
  unsigned long propagation = 0;    // kMount/kBind: then set this (MS_SHARED, MS_SLAVE, ... | MS_REC)
  bool target_is_file = false;  // kBind/kDevice: create the target as a file, not a directory
  mode_t mode = 0;              // kDevice
  dev_t device = 0;             // kDevice
  bool chown = false;           // kDevice: then give it to uid:gid
  uid_t uid = 0;
  gid_t gid = 0;
};

struct MountPlan {
  std::string rootfs_target;  // host directory the rootfs is mounted on, inside the container's ns
  MountOp rootfs;             // overlay of the layers, or a recursive bind of a plain dir
  // --storage-opt size: a tmpfs for the writable layer, mounted before the rootfs, and the upper
  // and work dir made on it. fstype empty: none.
  MountOp writable_layer;
  std::vector<std::string> writable_layer_dirs;
  std::vector<MountOp> in_rootfs;    // before pivot_root; targets resolved inside the rootfs only
  std::vector<MountOp> after_pivot;  // masks and read-only /proc paths
  bool read_only_root = false;       // remount / read-only as the last step
};

// Paths Docker (runc's defaults) hides from containers and paths it makes read-only.
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

// The overlay mount option string; lowerdir lists the top-most layer first, as overlayfs wants.
std::string overlay_options(const RootfsSpec& rootfs);

// The mount of one volume: a bind, or for a copy-on-write volume an overlay with the host dir as
// its only lower dir. Either way the target is resolved inside the rootfs by the child. A bind's
// target is a file when volume.source_is_file says so; the host is not looked at.
MountOp volume_op(const BindMount& volume);

// The op of one mount of the container's own list (ContainerSpec::mounts).
MountOp mount_entry_op(const MountEntry& entry);

// Where the container's own cgroup is on the host, for a `cgroup` mount of its list (an OCI
// bundle's /sys/fs/cgroup): the directory in each v1 hierarchy by the hierarchy's mount name
// ("cpu,cpuacct"), or its v2 directory.
struct CgroupView {
  std::vector<std::pair<std::string, std::string>> v1_dirs;  // {"memory", "/sys/fs/cgroup/memory/slipway/ID"}
  std::string v2_dir;
};

// Builds the whole plan. `etc_files_dir` holds the generated hostname, hosts and resolv.conf. A
// `cgroup` or `cgroup2` mount becomes the container's own cgroup: on v1 a tmpfs with each
// hierarchy's directory bound in (and symlinks for co-mounted ones, "cpu" -> "cpu,cpuacct"), on v2
// its directory bound; read-only when the mount says so, as runc makes it.
MountPlan plan_mounts(const ContainerSpec& spec, const std::string& etc_files_dir, const CgroupView& cgroups = {});

}  // namespace slipway::runtime
