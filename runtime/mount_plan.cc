#include "runtime/mount_plan.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <fmt/core.h>

#include <algorithm>
#include <tuple>

#include "base/fs.h"

namespace slipway::runtime {

const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> kPaths = {
      "/proc/asound",       "/proc/acpi",        "/proc/kcore",          "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",    "/proc/sched_debug",
      "/proc/scsi",         "/sys/firmware",     "/sys/devices/virtual/powercap"};
  return kPaths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> kPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                  "/proc/sysrq-trigger"};
  return kPaths;
}

std::string overlay_options(const RootfsSpec& rootfs) {
  std::string lower;
  for (auto it = rootfs.lower_dirs.rbegin(); it != rootfs.lower_dirs.rend(); ++it) {
    if (!lower.empty()) lower += ':';
    lower += *it;
  }
  // index=off and xino=off keep the mount independent of the layer dirs' inode numbers and of
  // other overlays sharing those lower dirs (many containers share one cached layer). volatile:
  // the upper dir is on disk but lives only as long as the container (a reboot empties the run
  // root and gc removes it), so the upper file system is not synced when the mount goes away
  // (that sync cost about 6 ms per container on ext4).
  return fmt::format("lowerdir={},upperdir={},workdir={},index=off,xino=off,volatile", lower,
                     rootfs.upper_dir, rootfs.work_dir);
}

namespace {

MountOp mount_op(std::string fstype, std::string target, unsigned long flags, std::string data) {
  MountOp op;
  op.kind = MountOp::Kind::kMount;
  op.source = fstype;
  op.fstype = std::move(fstype);
  op.target = std::move(target);
  op.flags = flags;
  op.data = std::move(data);
  return op;
}

MountOp device_op(std::string target, mode_t mode, unsigned major_no, unsigned minor_no) {
  MountOp op;
  op.kind = MountOp::Kind::kDevice;
  op.target = std::move(target);
  op.mode = S_IFCHR | mode;
  op.device = makedev(major_no, minor_no);
  op.target_is_file = true;
  return op;
}

MountOp symlink_op(std::string link_target, std::string path) {
  MountOp op;
  op.kind = MountOp::Kind::kSymlink;
  op.source = std::move(link_target);
  op.target = std::move(path);
  return op;
}

MountOp bind_op(std::string source, std::string target, bool read_only, bool is_file) {
  MountOp op;
  op.kind = MountOp::Kind::kBind;
  op.source = std::move(source);
  op.target = std::move(target);
  op.flags = MS_BIND | MS_REC;
  op.read_only = read_only;
  op.target_is_file = is_file;
  return op;
}

// The devices a container's own /dev holds, and its standard symlinks.
// In a user namespace mknod is refused: the host's nodes are bound in instead.
void add_standard_devices(std::vector<MountOp>& in, bool user_namespace = false) {
  for (const auto& [path, major_no, minor_no] : {std::tuple{"/dev/null", 1u, 3u}, std::tuple{"/dev/zero", 1u, 5u},
                                                 std::tuple{"/dev/full", 1u, 7u}, std::tuple{"/dev/random", 1u, 8u},
                                                 std::tuple{"/dev/urandom", 1u, 9u}, std::tuple{"/dev/tty", 5u, 0u}})
    in.push_back(user_namespace ? bind_op(path, path, false, true) : device_op(path, 0666, major_no, minor_no));
  in.push_back(symlink_op("pts/ptmx", "/dev/ptmx"));
  in.push_back(symlink_op("/proc/self/fd", "/dev/fd"));
  in.push_back(symlink_op("/proc/self/fd/0", "/dev/stdin"));
  in.push_back(symlink_op("/proc/self/fd/1", "/dev/stdout"));
  in.push_back(symlink_op("/proc/self/fd/2", "/dev/stderr"));
  in.push_back(symlink_op("/proc/kcore", "/dev/core"));
}

// Docker's set: proc, a /dev of its own with the standard devices, sysfs, and the generated
// /etc/hostname, hosts and resolv.conf.
void add_standard_mounts(std::vector<MountOp>& in, const std::string& etc_files_dir) {
  constexpr unsigned long kNoSuidExecDev = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  in.push_back(mount_op("proc", "/proc", kNoSuidExecDev, ""));
  in.push_back(mount_op("tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
  in.push_back(mount_op("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                        "newinstance,ptmxmode=0666,mode=0620,gid=5"));
  in.push_back(mount_op("tmpfs", "/dev/shm", kNoSuidExecDev, "mode=1777,size=65536k"));
  in.push_back(mount_op("mqueue", "/dev/mqueue", kNoSuidExecDev, ""));
  in.push_back(mount_op("sysfs", "/sys", kNoSuidExecDev | MS_RDONLY, ""));
  add_standard_devices(in);
  for (const char* name : {"hostname", "hosts", "resolv.conf"})
    in.push_back(bind_op(fs::join(etc_files_dir, name), fmt::format("/etc/{}", name), false, true));
}

// The container's own cgroup in place of a cgroup file system mount (see plan_mounts).
void add_cgroup_mount(std::vector<MountOp>& in, const MountEntry& m, const CgroupView& cgroups) {
  constexpr unsigned long kNoSuidExecDev = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  bool read_only = (m.flags & MS_RDONLY) != 0;
  if (cgroups.v1_dirs.empty()) {
    MountOp bind = bind_op(cgroups.v2_dir, m.target, read_only, false);
    bind.remount_flags = kNoSuidExecDev;
    in.push_back(bind);
    return;
  }
  in.push_back(mount_op("tmpfs", m.target, kNoSuidExecDev, "mode=755"));
  for (const auto& [name, dir] : cgroups.v1_dirs) {
    MountOp bind = bind_op(dir, fs::join(m.target, name), read_only, false);
    bind.remount_flags = kNoSuidExecDev;
    in.push_back(bind);
    if (name.find(',') == std::string::npos) continue;
    for (size_t start = 0; start <= name.size();) {
      size_t comma = std::min(name.find(',', start), name.size());
      in.push_back(symlink_op(name, fs::join(m.target, name.substr(start, comma - start))));
      start = comma + 1;
    }
  }
  if (read_only) in.push_back(mount_op("tmpfs", m.target, MS_REMOUNT | MS_RDONLY | kNoSuidExecDev, "mode=755"));
}

}  // namespace

MountOp mount_entry_op(const MountEntry& m) {
  MountOp op;
  op.source = m.source;
  op.target = m.target;
  op.propagation = m.propagation;
  if (m.flags & MS_BIND) {
    op.kind = MountOp::Kind::kBind;
    op.flags = m.flags & (MS_BIND | MS_REC);
    op.read_only = (m.flags & MS_RDONLY) != 0;
    op.remount_flags = m.flags & ~(MS_BIND | MS_REC | MS_RDONLY);
    op.target_is_file = m.source_is_file;
  } else {
    op.kind = MountOp::Kind::kMount;
    op.fstype = m.fstype;
    op.flags = m.flags;
    op.data = m.data;
  }
  return op;
}

MountOp volume_op(const BindMount& b) {
  if (!b.copy_on_write) return bind_op(b.source, b.target, b.read_only, b.source_is_file);
  RootfsSpec layers;
  layers.lower_dirs = {b.source};
  layers.upper_dir = b.upper_dir;
  layers.work_dir = b.work_dir;
  return mount_op("overlay", b.target, 0, overlay_options(layers));
}

MountPlan plan_mounts(const ContainerSpec& spec, const std::string& etc_files_dir, const CgroupView& cgroups) {
  MountPlan plan;
  plan.rootfs_target = fs::join(spec.state_dir, "rootfs");
  if (spec.rootfs.plain_dir.empty()) {
    plan.rootfs = mount_op("overlay", plan.rootfs_target, 0, overlay_options(spec.rootfs));
    if (spec.rootfs.writable_size) {
      plan.writable_layer = mount_op("tmpfs", spec.rootfs.writable_dir, MS_NODEV,
                                     fmt::format("size={},mode=0700", spec.rootfs.writable_size));
      plan.writable_layer_dirs = {spec.rootfs.upper_dir, spec.rootfs.work_dir};
    }
  } else {
    // In a user namespace the container's root cannot reach the (root-only) state dir: the rootfs
    // is bound onto itself, in the container's mount namespace, as runc does.
    if (spec.namespaces.user()) plan.rootfs_target = spec.rootfs.plain_dir;
    plan.rootfs = bind_op(spec.rootfs.plain_dir, plan.rootfs_target, false, false);
  }

  auto& in = plan.in_rootfs;
  if (spec.mounts) {
    for (const auto& m : *spec.mounts) {
      if (m.fstype == "cgroup" || m.fstype == "cgroup2") add_cgroup_mount(in, m, cgroups);
      else in.push_back(mount_entry_op(m));
    }
    // A /dev of its own (not the host's bound in) gets the standard devices, as runc gives it.
    auto dev = std::find_if(spec.mounts->begin(), spec.mounts->end(),
                            [](const MountEntry& m) { return m.target == "/dev"; });
    if (dev != spec.mounts->end() && !(dev->flags & MS_BIND)) add_standard_devices(in, spec.namespaces.user());
  } else {
    add_standard_mounts(in, etc_files_dir);
  }
  for (const auto& b : spec.binds) in.push_back(volume_op(b));
  for (const auto& d : spec.devices) {
    if (spec.namespaces.user()) {
      in.push_back(bind_op(d.path, d.path, false, true));
      continue;
    }
    mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
    MountOp op = device_op(d.path, d.mode, d.major, d.minor);
    op.mode = type | (d.mode & 07777);
    op.chown = true;
    op.uid = d.uid;
    op.gid = d.gid;
    in.push_back(op);
  }
  // The working dir is made while the root may still be written (runc makes it too).
  if (spec.process.cwd.size() > 1) {
    MountOp cwd;
    cwd.kind = MountOp::Kind::kDirectory;
    cwd.target = spec.process.cwd;
    in.push_back(cwd);
  }

  for (const auto& p : spec.masked_paths.value_or(default_masked_paths())) {
    MountOp op;
    op.kind = MountOp::Kind::kMask;
    op.target = p;
    plan.after_pivot.push_back(op);
  }
  for (const auto& p : spec.readonly_paths.value_or(default_readonly_paths())) {
    MountOp op;
    op.kind = MountOp::Kind::kReadOnly;
    op.target = p;
    plan.after_pivot.push_back(op);
  }
  plan.read_only_root = spec.rootfs.read_only;
  return plan;
}

}  // namespace slipway::runtime
