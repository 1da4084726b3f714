// Cgroup layout detection, the limits -> writes plan and cgroup file parsers, from sample inputs.
#include "runtime/cgroups.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::runtime {
namespace {

// This host: v1 controllers each on its own mount, a tmpfs at /sys/fs/cgroup, and a cgroup2 mount
// at /sys/fs/cgroup/unified holding only hugetlb.
constexpr std::string_view kHybridMountinfo =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd host in unified mode (Debian 12, Ubuntu 22.04 and later).
constexpr std::string_view kV2Mountinfo =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
    "26 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "27 23 0:24 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:5 - bpf bpf rw,mode=700\n";

// An older systemd host in legacy mode: cpu and cpuacct co-mounted, net_cls with net_prio, no
// cgroup2 anywhere.
constexpr std::string_view kV1Mountinfo =
    "25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
    "cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
    "29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:14 - "
    "cgroup cgroup rw,net_cls,net_prio\n"
    "31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup "
    "rw,memory\n"
    "32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup "
    "rw,pids\n"
    "33 25 0:30 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup "
    "rw,freezer\n";

TEST(CgroupLayout, DetectsHybridLikeThisHost) {
  auto layout = parse_cgroup_layout(kHybridMountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->version, CgroupVersion::kHybrid);
  EXPECT_TRUE(layout->uses_v1());
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup/unified");
  std::map<std::string, std::string> want = {
      {"blkio", "/sys/fs/cgroup/blkio"},     {"cpu", "/sys/fs/cgroup/cpu"},
      {"cpuacct", "/sys/fs/cgroup/cpuacct"}, {"cpuset", "/sys/fs/cgroup/cpuset"},
      {"devices", "/sys/fs/cgroup/devices"}, {"freezer", "/sys/fs/cgroup/freezer"},
      {"memory", "/sys/fs/cgroup/memory"},   {"pids", "/sys/fs/cgroup/pids"},
  };
  // name=systemd is a named hierarchy without a controller.
  EXPECT_EQ(layout->v1_mounts, want);
}

TEST(CgroupLayout, DetectsPureV2) {
  auto layout = parse_cgroup_layout(kV2Mountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->version, CgroupVersion::kV2);
  EXPECT_FALSE(layout->uses_v1());
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup");
  EXPECT_TRUE(layout->v1_mounts.empty());
}

TEST(CgroupLayout, DetectsV1OnlyWithCoMountedControllers) {
  auto layout = parse_cgroup_layout(kV1Mountinfo);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->version, CgroupVersion::kV1);
  EXPECT_EQ(layout->v2_root, "");
  EXPECT_EQ(layout->v1_mounts.at("cpu"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->v1_mounts.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout->v1_mounts.at("net_cls"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(layout->v1_mounts.at("net_prio"), "/sys/fs/cgroup/net_cls,net_prio");
  EXPECT_EQ(layout->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout->v1_mounts.at("freezer"), "/sys/fs/cgroup/freezer");
  EXPECT_FALSE(layout->v1_mounts.contains("systemd"));
  EXPECT_FALSE(layout->v1_mounts.contains("name=systemd"));
  EXPECT_FALSE(layout->v1_mounts.contains("xattr"));
  EXPECT_EQ(layout->v1_mounts.size(), 7u);
}

TEST(CgroupLayout, V2WithALegacyNamedHierarchyIsStillV2) {
  // Some v2 hosts keep a v1 name=systemd mount for old containers; it carries no controller.
  std::string text(kV2Mountinfo);
  text += "40 26 0:40 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n";
  auto layout = parse_cgroup_layout(text);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->version, CgroupVersion::kV2);
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup");
}

TEST(CgroupLayout, PrefersTheMountUnderSysFsCgroup) {
  // The same hierarchies bound again elsewhere (a container rootfs) must not win.
  std::string text =
      "50 1 0:32 / /run/c/rootfs/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "51 1 0:38 / /run/c/rootfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  text += kHybridMountinfo;
  auto layout = parse_cgroup_layout(text);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup/unified");
}

TEST(CgroupLayout, UnescapesMountPoints) {
  auto layout = parse_cgroup_layout(
      "60 1 0:50 / /mnt/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/mnt/my cgroups");
}

TEST(CgroupLayout, FailsWithoutAnyCgroupMount) {
  auto layout = parse_cgroup_layout("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message().find("no cgroup file system is mounted"), std::string::npos)
      << layout.error().message();
}

TEST(CgroupLayout, FailsOnAMalformedLineNamingIt) {
  std::string text(kV2Mountinfo);
  text += "99 1 0:1 / /broken rw,relatime cgroup2 cgroup2 rw\n";
  auto layout = parse_cgroup_layout(text);
  ASSERT_FALSE(layout);
  EXPECT_NE(layout.error().message().find("mountinfo line 5"), std::string::npos)
      << layout.error().message();
}

TEST(CgroupLayout, DetectsTheRunningHost) {
  auto layout = detect_cgroup_layout();
  ASSERT_TRUE(layout) << layout.error().message();
  if (layout->uses_v1())
    EXPECT_FALSE(layout->v1_mounts.empty());
  else
    EXPECT_TRUE(fs::exists(fs::join(layout->v2_root, "cgroup.controllers")));
}

TEST(CgroupPlan, V1WritesInOrder) {
  CgroupLimits limits{.memory_bytes = 64 << 20, .cpus = 0.5, .pids = 100};
  auto writes = plan_cgroup_writes(limits, CgroupVersion::kV1);
  ASSERT_TRUE(writes) << writes.error().message();
  std::vector<CgroupWrite> want = {
      {"memory", "memory.limit_in_bytes", "67108864", false},
      {"memory", "memory.memsw.limit_in_bytes", "67108864", true},
      {"cpu", "cpu.cfs_period_us", "100000", false},
      {"cpu", "cpu.cfs_quota_us", "50000", false},
      {"pids", "pids.max", "100", false},
  };
  EXPECT_EQ(*writes, want);
}

TEST(CgroupPlan, HybridPlansLikeV1) {
  CgroupLimits limits{.memory_bytes = 1 << 30, .cpus = 2, .pids = 5};
  auto v1 = plan_cgroup_writes(limits, CgroupVersion::kV1);
  auto hybrid = plan_cgroup_writes(limits, CgroupVersion::kHybrid);
  ASSERT_TRUE(v1 && hybrid);
  EXPECT_EQ(*v1, *hybrid);
}

TEST(CgroupPlan, V2WritesInOrder) {
  CgroupLimits limits{.memory_bytes = 16 << 20, .cpus = 1.5, .pids = 64};
  auto writes = plan_cgroup_writes(limits, CgroupVersion::kV2);
  ASSERT_TRUE(writes) << writes.error().message();
  std::vector<CgroupWrite> want = {
      {"memory", "memory.max", "16777216", false},
      {"memory", "memory.swap.max", "0", true},
      {"cpu", "cpu.max", "150000 100000", false},
      {"pids", "pids.max", "64", false},
  };
  EXPECT_EQ(*writes, want);
}

TEST(CgroupPlan, CpusBecomeAQuotaOfTheFixedPeriod) {
  auto quota = [](double cpus) {
    auto w = plan_cgroup_writes({.cpus = cpus}, CgroupVersion::kV1);
    return w ? w->at(1).value : w.error().message();
  };
  EXPECT_EQ(quota(0.5), "50000");
  EXPECT_EQ(quota(1), "100000");
  EXPECT_EQ(quota(0.01), "1000");
  EXPECT_EQ(quota(0.333), "33300");
  EXPECT_EQ(quota(4), "400000");
  auto v2 = plan_cgroup_writes({.cpus = 0.25}, CgroupVersion::kV2);
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->at(0).value, "25000 100000");
}

TEST(CgroupPlan, CpuSharesAreV1SharesOrAV2Weight) {
  auto v1 = plan_cgroup_writes({.cpu_shares = 512}, CgroupVersion::kV1);
  ASSERT_TRUE(v1);
  EXPECT_EQ(*v1, (std::vector<CgroupWrite>{{"cpu", "cpu.shares", "512"}}));
  auto weight = [](uint64_t shares) {
    auto w = plan_cgroup_writes({.cpu_shares = shares}, CgroupVersion::kV2);
    return w ? w->at(0).file + "=" + w->at(0).value : w.error().message();
  };
  EXPECT_EQ(weight(2), "cpu.weight=1");
  EXPECT_EQ(weight(1024), "cpu.weight=39");
  EXPECT_EQ(weight(262144), "cpu.weight=10000");
  EXPECT_EQ(weight(1), "cpu shares 1 are outside 2..262144");
}

TEST(CgroupPlan, OnlyRequestedLimitsAreWritten) {
  auto none = plan_cgroup_writes({}, CgroupVersion::kV2);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto pids_only = plan_cgroup_writes({.pids = 3}, CgroupVersion::kV1);
  ASSERT_TRUE(pids_only);
  EXPECT_EQ(*pids_only, (std::vector<CgroupWrite>{{"pids", "pids.max", "3", false}}));
}

TEST(CgroupPlan, RejectsLimitsTheKernelWouldRefuse) {
  auto error = [](CgroupLimits l) {
    auto w = plan_cgroup_writes(l, CgroupVersion::kV2);
    return w ? std::string("accepted") : w.error().message();
  };
  EXPECT_EQ(error({.memory_bytes = 0}), "--memory must be a positive number of bytes, got 0");
  EXPECT_EQ(error({.memory_bytes = -1}), "--memory must be a positive number of bytes, got -1");
  EXPECT_EQ(error({.cpus = 0}), "--cpus must be a positive number, got 0");
  EXPECT_EQ(error({.cpus = -2}), "--cpus must be a positive number, got -2");
  EXPECT_EQ(error({.cpus = std::nan("")}), "--cpus must be a positive number, got nan");
  EXPECT_EQ(error({.cpus = 0.001}), "--cpus 0.001 is below the minimum of 0.01");
  EXPECT_EQ(error({.cpus = 1e9}), "--cpus 1000000000 is above the maximum of 100000");
  EXPECT_EQ(error({.pids = 0}), "--pids-limit must be at least 1, got 0");
}

TEST(CgroupFiles, ParsesFlatKeyedFiles) {
  constexpr std::string_view kEvents =
      "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n";
  EXPECT_EQ(parse_cgroup_key(kEvents, "oom_kill"), 2);
  EXPECT_EQ(parse_cgroup_key(kEvents, "oom"), 3);
  EXPECT_EQ(parse_cgroup_key(kEvents, "max"), 12);
  EXPECT_EQ(parse_cgroup_key(kEvents, "oom_group"), std::nullopt);
  constexpr std::string_view kOomControl = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n";
  EXPECT_EQ(parse_cgroup_key(kOomControl, "oom_kill"), 0);
  // Before kernel 4.13 memory.oom_control had no oom_kill line.
  EXPECT_EQ(parse_cgroup_key("oom_kill_disable 0\nunder_oom 0\n", "oom_kill"), std::nullopt);
  EXPECT_EQ(parse_cgroup_key("populated 1\nfrozen 0\n", "frozen"), 0);
  EXPECT_EQ(parse_cgroup_key("frozen yes\n", "frozen"), std::nullopt);
}

TEST(CgroupFiles, ParsesCgroupProcs) {
  auto pids = parse_cgroup_procs("1\n42\n31337\n");
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, (std::vector<pid_t>{1, 42, 31337}));
  auto empty = parse_cgroup_procs("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto bad = parse_cgroup_procs("12\nabc\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "not a pid: \"abc\"");
}

TEST(CgroupNames, ContainerCgroupsLiveUnderSlipway) {
  EXPECT_EQ(container_cgroup_name("abc123"), "slipway/abc123");
}

TEST(Cgroup, RejectsUnsafeNamesBeforeTouchingAnything) {
  CgroupLayout layout{.version = CgroupVersion::kV2, .v1_mounts = {}, .v2_root = "/nonexistent"};
  for (std::string name : {"", "/slipway/x", "slipway/", "slipway//x", "slipway/../x", "./x"}) {
    auto cg = Cgroup::create(layout, name, {});
    ASSERT_FALSE(cg) << name;
    EXPECT_NE(cg.error().message().find("invalid cgroup name"), std::string::npos)
        << cg.error().message();
  }
}

TEST(Cgroup, V1LimitWithoutItsControllerNamesIt) {
  CgroupLayout layout{
      .version = CgroupVersion::kV1, .v1_mounts = {{"pids", "/nonexistent/pids"}}, .v2_root = ""};
  auto cg = Cgroup::create(layout, "slipway/x", {.memory_bytes = 1 << 20});
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(),
            "--memory needs the memory cgroup controller, which this host does not have mounted");
  cg = Cgroup::create(layout, "slipway/x", {.cpus = 1});
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(),
            "--cpus needs the cpu cgroup controller, which this host does not have mounted");
}

TEST(Cgroup, V2LimitWithoutItsControllerNamesIt) {
  // A stand-in v2 root: only the list of available controllers is read before the check.
  slipway::testing::TempDir root("slipway-cgroup-unit");
  ASSERT_TRUE(fs::write_file(fs::join(root.path(), "cgroup.controllers"), "cpu io hugetlb\n"));
  CgroupLayout layout{.version = CgroupVersion::kV2, .v1_mounts = {}, .v2_root = root.path()};
  auto cg = Cgroup::create(layout, "slipway/x", {.pids = 10});
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().message(),
            fmt::format("--pids-limit needs the pids cgroup controller, which this host does not "
                        "have enabled ({}/cgroup.controllers lists cpu hugetlb io)",
                        root.path()));
  EXPECT_FALSE(fs::exists(fs::join(root.path(), "slipway")));
}

}  // namespace
}  // namespace slipway::runtime
