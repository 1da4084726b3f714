#include "engine/oci_rootfs_check.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::engine {
namespace {

using slipway::testing::TempDir;

std::vector<runtime::MountEntry> mount_at(const std::string& target) {
  return {{.source = "tmpfs", .target = "/proc", .fstype = "proc"}, {.source = "tmpfs", .target = target, .fstype = "tmpfs"}};
}

TEST(OciRootfsCheck, ASymlinkLeadingOutOfTheRootfsIsRefusedNamingTheMount) {
  TempDir root("oci-rootfs");
  const std::string& r = root.path();
  ASSERT_TRUE(fs::make_dirs(r + "/etc/app").has_value());
  ASSERT_EQ(::symlink("../../../../../../etc", (r + "/evil").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", (r + "/absolute").c_str()), 0);         // read inside the root
  ASSERT_EQ(::symlink("etc/app", (r + "/relative").c_str()), 0);      // stays inside
  ASSERT_EQ(::symlink("../../evil", (r + "/etc/app/up").c_str()), 0);  // inside, then out
  ASSERT_EQ(::symlink("loop", (r + "/loop").c_str()), 0);

  auto error = [&](const std::string& target) {
    auto st = check_mount_destinations(r, mount_at(target));
    return st ? std::string("ok") : st.error().message();
  };
  EXPECT_EQ(error("/evil/passwd"), "mounts[1].destination /evil/passwd: the symlink /evil leads out of the rootfs");
  EXPECT_EQ(error("/etc/app/up/x"), "mounts[1].destination /etc/app/up/x: the symlink /evil leads out of the rootfs");
  EXPECT_EQ(error("/absolute/app"), "ok");
  EXPECT_EQ(error("/relative/sub"), "ok");
  EXPECT_EQ(error("/not/there/yet"), "ok") << "made later, inside the root";
  EXPECT_EQ(error("/loop/x"), "mounts[1].destination: /loop/x: too many levels of symbolic links");
}

}  // namespace
}  // namespace slipway::engine
