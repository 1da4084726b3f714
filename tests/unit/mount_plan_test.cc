#include "runtime/mount_plan.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>

#include "runtime/etc_files.h"

namespace slipway::runtime {
namespace {

ContainerSpec overlay_spec() {
  ContainerSpec s;
  s.id = std::string(64, 'a');
  s.state_dir = "/var/lib/slipway/containers/aaa";
  s.rootfs.lower_dirs = {"/layers/base", "/layers/mid", "/layers/top"};
  s.rootfs.upper_dir = "/c/upper";
  s.rootfs.work_dir = "/c/work";
  return s;
}

const MountOp* find_target(const std::vector<MountOp>& ops, std::string_view target) {
  auto it = std::find_if(ops.begin(), ops.end(), [&](const MountOp& o) { return o.target == target; });
  return it == ops.end() ? nullptr : &*it;
}

TEST(MountPlan, OverlayListsTopLayerFirst) {
  MountPlan p = plan_mounts(overlay_spec(), "/c/etc");
  EXPECT_EQ(p.rootfs.fstype, "overlay");
  EXPECT_EQ(p.rootfs_target, "/var/lib/slipway/containers/aaa/rootfs");
  EXPECT_EQ(p.rootfs.data,
            "lowerdir=/layers/top:/layers/mid:/layers/base,upperdir=/c/upper,workdir=/c/work,"
            "index=off,xino=off,volatile");
}

TEST(MountPlan, SizeLimitedWritableLayerIsATmpfsMadeFirst) {
  ContainerSpec s = overlay_spec();
  EXPECT_TRUE(plan_mounts(s, "/c/etc").writable_layer.fstype.empty());
  s.rootfs.writable_size = 8 << 20;
  s.rootfs.writable_dir = "/c/layer";
  s.rootfs.upper_dir = "/c/layer/upper";
  s.rootfs.work_dir = "/c/layer/work";
  MountPlan p = plan_mounts(s, "/c/etc");
  EXPECT_EQ(p.writable_layer.fstype, "tmpfs");
  EXPECT_EQ(p.writable_layer.target, "/c/layer");
  EXPECT_EQ(p.writable_layer.data, "size=8388608,mode=0700");
  EXPECT_EQ(p.writable_layer_dirs, (std::vector<std::string>{"/c/layer/upper", "/c/layer/work"}));
  EXPECT_NE(p.rootfs.data.find("upperdir=/c/layer/upper,workdir=/c/layer/work"), std::string::npos);
}

TEST(MountPlan, PlainRootfsIsARecursiveBind) {
  ContainerSpec s = overlay_spec();
  s.rootfs = {};
  s.rootfs.plain_dir = "/srv/rootfs";
  MountPlan p = plan_mounts(s, "/c/etc");
  EXPECT_EQ(p.rootfs.kind, MountOp::Kind::kBind);
  EXPECT_EQ(p.rootfs.source, "/srv/rootfs");
  EXPECT_TRUE(p.rootfs.flags & MS_REC);
}

TEST(MountPlan, KernelFilesystemsAndDevices) {
  MountPlan p = plan_mounts(overlay_spec(), "/c/etc");
  const MountOp* proc = find_target(p.in_rootfs, "/proc");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ(proc->fstype, "proc");
  EXPECT_TRUE(proc->flags & MS_NOSUID);
  const MountOp* sys = find_target(p.in_rootfs, "/sys");
  ASSERT_NE(sys, nullptr);
  EXPECT_TRUE(sys->flags & MS_RDONLY) << "sysfs must be read-only";
  for (auto dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}) {
    const MountOp* d = find_target(p.in_rootfs, dev);
    ASSERT_NE(d, nullptr) << dev;
    EXPECT_EQ(d->kind, MountOp::Kind::kDevice);
  }
  for (auto dir : {"/dev/pts", "/dev/shm", "/dev/mqueue"}) EXPECT_NE(find_target(p.in_rootfs, dir), nullptr) << dir;
  // /dev must be mounted before anything is created inside it.
  auto index = [&](std::string_view t) { return find_target(p.in_rootfs, t) - p.in_rootfs.data(); };
  EXPECT_LT(index("/dev"), index("/dev/null"));
  EXPECT_LT(index("/dev"), index("/dev/pts"));
}

TEST(MountPlan, GeneratedEtcFilesAreBoundAsFiles) {
  MountPlan p = plan_mounts(overlay_spec(), "/c/etc");
  for (auto name : {"hostname", "hosts", "resolv.conf"}) {
    const MountOp* op = find_target(p.in_rootfs, std::string("/etc/") + name);
    ASSERT_NE(op, nullptr) << name;
    EXPECT_EQ(op->kind, MountOp::Kind::kBind);
    EXPECT_TRUE(op->target_is_file);
    EXPECT_EQ(op->source, std::string("/c/etc/") + name);
  }
}

TEST(MountPlan, VolumesKeepReadOnlyFlag) {
  ContainerSpec s = overlay_spec();
  s.binds = {{"/tmp", "/data", true}, {"/var", "/rw", false}};
  MountPlan p = plan_mounts(s, "/c/etc");
  const MountOp* ro = find_target(p.in_rootfs, "/data");
  ASSERT_NE(ro, nullptr);
  EXPECT_TRUE(ro->read_only);
  EXPECT_FALSE(ro->target_is_file);
  EXPECT_FALSE(find_target(p.in_rootfs, "/rw")->read_only);
}

TEST(MountPlan, AVolumeTargetIsAFileOnlyWhenTheCallerSaysTheSourceIsOne) {
  ContainerSpec s = overlay_spec();
  // The plan takes the caller's word and never looks at the host: /etc/passwd is a file there,
  // /tmp a directory, yet the flags decide.
  BindMount file{"/tmp", "/run/secret", true};
  file.source_is_file = true;
  s.binds = {file, {"/etc/passwd", "/data", false}};
  MountPlan p = plan_mounts(s, "/c/etc");
  const MountOp* as_file = find_target(p.in_rootfs, "/run/secret");
  ASSERT_NE(as_file, nullptr);
  EXPECT_EQ(as_file->kind, MountOp::Kind::kBind);
  EXPECT_TRUE(as_file->target_is_file);
  EXPECT_TRUE(as_file->read_only);
  const MountOp* as_dir = find_target(p.in_rootfs, "/data");
  ASSERT_NE(as_dir, nullptr);
  EXPECT_FALSE(as_dir->target_is_file);
  EXPECT_TRUE(volume_op(file).target_is_file);
}

TEST(MountPlan, CopyOnWriteVolumeIsAnOverlayOverTheHostDir) {
  ContainerSpec s = overlay_spec();
  BindMount cow;
  cow.source = "/snap/redis";
  cow.target = "/data";
  cow.copy_on_write = true;
  cow.upper_dir = "/c/volumes/1/upper";
  cow.work_dir = "/c/volumes/1/work";
  s.binds = {{"/tmp", "/before", false}, cow, {"/var", "/data/sub", true}};
  MountPlan p = plan_mounts(s, "/c/etc");
  const MountOp* op = find_target(p.in_rootfs, "/data");
  ASSERT_NE(op, nullptr);
  // kMount: the child resolves /data inside the rootfs like any other target.
  EXPECT_EQ(op->kind, MountOp::Kind::kMount);
  EXPECT_EQ(op->fstype, "overlay");
  EXPECT_EQ(op->source, "overlay");
  EXPECT_EQ(op->data,
            "lowerdir=/snap/redis,upperdir=/c/volumes/1/upper,workdir=/c/volumes/1/work,"
            "index=off,xino=off,volatile");
  EXPECT_FALSE(op->read_only);
  // Volumes keep the user's order, so a volume nested in a copy-on-write one lands on top of it.
  auto index = [&](std::string_view t) { return find_target(p.in_rootfs, t) - p.in_rootfs.data(); };
  EXPECT_LT(index("/before"), index("/data"));
  EXPECT_LT(index("/data"), index("/data/sub"));
  EXPECT_EQ(volume_op(s.binds[2]).kind, MountOp::Kind::kBind);
}

TEST(MountPlan, MasksAndReadOnlyPathsLikeRunc) {
  MountPlan p = plan_mounts(overlay_spec(), "/c/etc");
  const MountOp* kcore = find_target(p.after_pivot, "/proc/kcore");
  ASSERT_NE(kcore, nullptr);
  EXPECT_EQ(kcore->kind, MountOp::Kind::kMask);  // /dev/null over a file, a tmpfs over a dir
  EXPECT_EQ(find_target(p.after_pivot, "/sys/firmware")->kind, MountOp::Kind::kMask);
  EXPECT_EQ(find_target(p.after_pivot, "/proc/sys")->kind, MountOp::Kind::kReadOnly);
  EXPECT_EQ(find_target(p.after_pivot, "/proc/sysrq-trigger")->kind, MountOp::Kind::kReadOnly);
  EXPECT_FALSE(p.read_only_root);
}

TEST(MountPlan, ReadOnlyRoot) {
  ContainerSpec s = overlay_spec();
  s.rootfs.read_only = true;
  EXPECT_TRUE(plan_mounts(s, "/c/etc").read_only_root);
}

TEST(EtcFiles, HostsMapsHostname) {
  std::string hosts = hosts_file("box");
  EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(hosts.find("\tbox\n"), std::string::npos);
}

TEST(EtcFiles, ResolvConfDropsLoopbackNameserversOutsideHostNetwork) {
  std::string host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.com\noptions edns0\n";
  EXPECT_EQ(container_resolv_conf(host, NetworkMode::kNone),
            "nameserver 10.0.0.2\nsearch example.com\noptions edns0\n");
  EXPECT_EQ(container_resolv_conf(host, NetworkMode::kHost), host);
}

}  // namespace
TEST(MountPlan, AnOwnMountListReplacesTheStandardOne) {
  ContainerSpec s = overlay_spec();
  MountEntry dev{.source = "tmpfs", .target = "/dev", .fstype = "tmpfs", .flags = MS_NOSUID, .data = "mode=755"};
  MountEntry data{.source = "/host/data", .target = "/data", .flags = MS_BIND | MS_REC | MS_RDONLY | MS_NOEXEC,
                  .propagation = MS_SLAVE | MS_REC};
  s.mounts = std::vector<MountEntry>{dev, data};
  s.masked_paths = std::vector<std::string>{"/proc/secret"};
  s.readonly_paths = std::vector<std::string>{};
  MountPlan p = plan_mounts(s, "/c/etc");
  EXPECT_EQ(find_target(p.in_rootfs, "/proc"), nullptr);
  EXPECT_EQ(find_target(p.in_rootfs, "/etc/hosts"), nullptr) << "an OCI bundle brings its own /etc";
  ASSERT_NE(find_target(p.in_rootfs, "/dev/null"), nullptr) << "a /dev of its own gets the standard devices";
  const MountOp* bind = find_target(p.in_rootfs, "/data");
  ASSERT_NE(bind, nullptr);
  EXPECT_EQ(bind->kind, MountOp::Kind::kBind);
  EXPECT_EQ(bind->flags, static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_TRUE(bind->read_only);
  EXPECT_EQ(bind->remount_flags, static_cast<unsigned long>(MS_NOEXEC)) << "the kernel ignores them on the bind";
  EXPECT_EQ(bind->propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  const MountOp* tmpfs = find_target(p.in_rootfs, "/dev");
  EXPECT_EQ(tmpfs->kind, MountOp::Kind::kMount);
  EXPECT_EQ(tmpfs->data, "mode=755");
  ASSERT_EQ(p.after_pivot.size(), 1u);
  EXPECT_EQ(p.after_pivot[0].target, "/proc/secret");

  // A /dev bound from the host gets no devices made in it.
  s.mounts = std::vector<MountEntry>{{.source = "/dev", .target = "/dev", .flags = MS_BIND | MS_REC}};
  EXPECT_EQ(find_target(plan_mounts(s, "/c/etc").in_rootfs, "/dev/null"), nullptr);
}

}  // namespace slipway::runtime
