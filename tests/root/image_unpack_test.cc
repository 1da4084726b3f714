// Layer unpack as root: owners, device nodes, file capabilities, trusted overlay xattrs, and a real
// overlayfs mount showing that converted whiteouts hide lower-layer files.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <functional>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/store/image_store.h"
#include "oci/layer/unpacker.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

// Builds a gzip tar in memory; each entry may be customized with owners, devices or xattrs.
class Tar {
 public:
  using Setup = std::function<void(struct archive_entry*)>;
  Tar& add(const std::string& name, mode_t type, mode_t perm, Setup setup = nullptr,
           const std::string& data = "") {
    entries_.push_back({name, type, perm, std::move(setup), data});
    return *this;
  }
  std::string build() const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_add_filter_gzip(a);
    archive_write_open(
        a, &out, nullptr,
        [](struct archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
          static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
          return static_cast<la_ssize_t>(n);
        },
        nullptr);
    for (const auto& en : entries_) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, en.name.c_str());
      archive_entry_set_filetype(e, en.type);
      archive_entry_set_perm(e, en.perm);
      archive_entry_set_mtime(e, 1600000000, 0);
      archive_entry_set_size(e, static_cast<la_int64_t>(en.data.size()));
      if (en.setup) en.setup(e);
      EXPECT_GE(archive_write_header(a, e), ARCHIVE_WARN) << archive_error_string(a);
      if (!en.data.empty()) archive_write_data(a, en.data.data(), en.data.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
  }

 private:
  struct Entry {
    std::string name;
    mode_t type, perm;
    Setup setup;
    std::string data;
  };
  std::vector<Entry> entries_;
};

Tar::Setup owner(uid_t uid, gid_t gid) {
  return [=](struct archive_entry* e) {
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
  };
}

class ImageUnpackRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::is_root()) GTEST_SKIP() << "needs root (chown, mknod, trusted xattrs, mounts)";
    dir_ = std::make_unique<TempDir>("slipway-unpack-root");
  }

  std::string path(const std::string& rel) const { return fs::join(dir_->path(), rel); }

  Result<UnpackStats> unpack(const std::string& blob, const std::string& name) {
    std::string file = path(name + ".blob");
    EXPECT_TRUE(fs::write_file(file, blob));
    auto fd = fs::open_file(file, O_RDONLY);
    EXPECT_TRUE(fd);
    return unpack_layer(fd->get(), "", path("tmp"), path(name), default_unpack_options());
  }

  struct stat lstat_of(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat(path(rel).c_str(), &st), 0) << rel << ": " << strerror(errno);
    return st;
  }

  std::unique_ptr<TempDir> dir_;
};

TEST_F(ImageUnpackRootTest, KeepsOwnersSetuidAndDeviceNodes) {
  Tar tar;
  tar.add("app/", AE_IFDIR, 0750, owner(1000, 1000))
      .add("app/suid", AE_IFREG, 04755, owner(1000, 2000), "x")
      .add("app/link", AE_IFLNK, 0777,
           [](struct archive_entry* e) {
             archive_entry_set_symlink(e, "suid");
             archive_entry_set_uid(e, 33);
             archive_entry_set_gid(e, 33);
           })
      .add("dev/null", AE_IFCHR, 0666,
           [](struct archive_entry* e) {
             archive_entry_set_rdevmajor(e, 1);
             archive_entry_set_rdevminor(e, 3);
           })
      .add("dev/loop9", AE_IFBLK, 0660, [](struct archive_entry* e) {
        archive_entry_set_rdevmajor(e, 7);
        archive_entry_set_rdevminor(e, 9);
        archive_entry_set_gid(e, 6);
      });
  auto r = unpack(tar.build(), "layer");
  ASSERT_TRUE(r) << r.error().message();
  struct stat app = lstat_of("layer/app");
  EXPECT_EQ(app.st_uid, 1000u);
  EXPECT_EQ(app.st_mode & 07777, 0750u);
  struct stat suid = lstat_of("layer/app/suid");
  EXPECT_EQ(suid.st_uid, 1000u);
  EXPECT_EQ(suid.st_gid, 2000u);
  EXPECT_EQ(suid.st_mode & 07777, 04755u) << "chown after chmod would have cleared setuid";
  EXPECT_EQ(lstat_of("layer/app/link").st_uid, 33u);
  struct stat null = lstat_of("layer/dev/null");
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(null.st_rdev, makedev(1, 3));
  EXPECT_EQ(null.st_mode & 07777, 0666u);
  struct stat loop = lstat_of("layer/dev/loop9");
  EXPECT_TRUE(S_ISBLK(loop.st_mode));
  EXPECT_EQ(loop.st_rdev, makedev(7, 9));
  EXPECT_EQ(loop.st_gid, 6u);
}

TEST_F(ImageUnpackRootTest, KeepsFileCapabilitiesAndDropsInjectedOverlayXattrs) {
  // struct vfs_cap_data, revision 2, CAP_NET_RAW permitted and effective.
  uint32_t cap[5] = {VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1u << CAP_NET_RAW, 0, 0, 0};
  std::string cap_value(reinterpret_cast<const char*>(cap), sizeof cap);
  Tar tar;
  tar.add(
         "bin/ping", AE_IFREG, 0755,
         [&](struct archive_entry* e) {
           archive_entry_xattr_add_entry(e, "security.capability", cap_value.data(),
                                         cap_value.size());
         },
         "ping")
      .add("d/", AE_IFDIR, 0755, [](struct archive_entry* e) {
        archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/etc", 4);
        archive_entry_xattr_add_entry(e, "user.note", "kept", 4);
      });
  auto r = unpack(tar.build(), "layer");
  ASSERT_TRUE(r) << r.error().message();
  char buf[64];
  ssize_t n = ::getxattr(path("layer/bin/ping").c_str(), "security.capability", buf, sizeof buf);
  ASSERT_EQ(n, static_cast<ssize_t>(cap_value.size())) << strerror(errno);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), cap_value);
  EXPECT_LT(::getxattr(path("layer/d").c_str(), "trusted.overlay.redirect", buf, sizeof buf), 0);
  EXPECT_EQ(::getxattr(path("layer/d").c_str(), "user.note", buf, sizeof buf), 4);
}

TEST_F(ImageUnpackRootTest, OverlayMountAppliesConvertedWhiteouts) {
  Tar lower;
  lower.add("a/", AE_IFDIR, 0755)
      .add("a/keep", AE_IFREG, 0644, nullptr, "keep")
      .add("a/gone", AE_IFREG, 0644, nullptr, "gone")
      .add("d/", AE_IFDIR, 0755)
      .add("d/old", AE_IFREG, 0644, nullptr, "old");
  Tar upper;
  upper.add("a/.wh.gone", AE_IFREG, 0644)
      .add("d/", AE_IFDIR, 0755)
      .add("d/.wh..wh..opq", AE_IFREG, 0644)
      .add("d/new", AE_IFREG, 0644, nullptr, "new");
  ASSERT_TRUE(unpack(lower.build(), "l1"));
  ASSERT_TRUE(unpack(upper.build(), "l2"));
  char value[4] = {};
  EXPECT_EQ(::getxattr(path("l2/d").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);

  std::string merged = path("merged");
  ASSERT_TRUE(fs::make_dirs(merged));
  std::string opts = fmt::format("lowerdir={}:{}", path("l2"), path("l1"));
  ASSERT_EQ(::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0)
      << strerror(errno);
  ScopeExit unmount([&] { ::umount2(merged.c_str(), MNT_DETACH); });
  EXPECT_EQ(*fs::read_file(merged + "/a/keep"), "keep");
  EXPECT_FALSE(fs::exists(merged + "/a/gone"));
  EXPECT_FALSE(fs::exists(merged + "/d/old"));
  EXPECT_EQ(*fs::read_file(merged + "/d/new"), "new");
}

TEST_F(ImageUnpackRootTest, BusyboxImageUnpacksWithItsOwnersAndModes) {
  std::string layout = testing::busybox_layout();
  if (!fs::exists(layout + "/index.json")) {
    layout = path("busybox");
    auto made = testing::run_command({testing::source_dir() + "/scripts/mkimage-busybox", layout});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  auto store = ImageStore::open(path("root"));
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load(layout));
  auto img = store->resolve("busybox");
  ASSERT_TRUE(img) << img.error().message();
  auto dirs = store->unpacked_layers(*img);
  ASSERT_TRUE(dirs) << dirs.error().message();
  ASSERT_EQ(dirs->size(), 1u);
  const std::string& l = (*dirs)[0];
  struct stat bb, tmp, sh, root_dir;
  ASSERT_EQ(::lstat((l + "/bin/busybox").c_str(), &bb), 0);
  ASSERT_EQ(::lstat((l + "/tmp").c_str(), &tmp), 0);
  ASSERT_EQ(::lstat((l + "/bin/sh").c_str(), &sh), 0);
  ASSERT_EQ(::lstat((l + "/root").c_str(), &root_dir), 0);
  EXPECT_EQ(bb.st_mode & 07777, 0755u);
  EXPECT_EQ(bb.st_uid, 0u);
  EXPECT_EQ(tmp.st_mode & 07777, 01777u);
  EXPECT_EQ(root_dir.st_mode & 07777, 0700u);
  EXPECT_TRUE(S_ISLNK(sh.st_mode));
  EXPECT_EQ(bb.st_mtim.tv_sec, 0);
  EXPECT_EQ(*fs::list_dir(path("root/tmp")), std::vector<std::string>{});
}

}  // namespace
}  // namespace slipway::oci
