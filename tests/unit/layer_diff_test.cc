// write_layer in overlay form: upper dir -> OCI layer. Whiteouts and opaque dirs need root (a 0/0
// char device and a trusted.* xattr); those tests skip without it, the rest run unprivileged.
#include "oci/layer/writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "oci/digest.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

struct TarEntry {
  std::string name;
  mode_t type = 0;
  mode_t perm = 0;
  int64_t uid = 0, gid = 0, mtime = 0;
  std::string data, symlink, hardlink;
};

std::vector<TarEntry> read_layer(const std::string& path) {
  std::vector<TarEntry> out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  EXPECT_EQ(archive_read_open_filename(a.get(), path.c_str(), 1 << 16), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    if (const char* s = archive_entry_symlink(e)) t.symlink = s;
    if (const char* h = archive_entry_hardlink(e)) t.hardlink = h;
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a.get(), buf, sizeof buf)) > 0;)
      t.data.append(buf, n);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> names(const std::vector<TarEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name);
  return out;
}

void set_mtime(const std::string& path, int64_t t) {
  struct timespec times[2] = {{t, 0}, {t, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
}

class LayerDiffTest : public ::testing::Test {
 protected:
  std::string up(const std::string& rel) const { return fs::join(upper_.path(), rel); }
  static LayerWriteOptions overlay() {
    LayerWriteOptions o;
    o.overlay = true;
    return o;
  }
  WrittenLayer diff(const LayerWriteOptions& o = overlay()) {
    auto d = write_layer(upper_.path(), tmp_.path(), o);
    EXPECT_TRUE(d) << d.error().message();
    return d ? *d : WrittenLayer{};
  }
  TempDir upper_{"layer-diff-upper"};
  TempDir tmp_{"layer-diff-tmp"};
};

TEST_F(LayerDiffTest, EntriesAreSortedAndMtimesClamped) {
  ASSERT_TRUE(fs::make_dirs(up("b/sub")));
  ASSERT_TRUE(fs::write_file(up("b/sub/z"), "zz"));
  ASSERT_TRUE(fs::write_file(up("a.txt"), "a", 0640));
  ASSERT_TRUE(fs::write_file(up("b.txt"), "b"));
  ASSERT_EQ(::symlink("a.txt", up("link").c_str()), 0);
  set_mtime(up("a.txt"), 100);         // older than the epoch: kept
  set_mtime(up("b.txt"), 2000000000);  // newer: clamped
  LayerWriteOptions o = overlay();
  o.clamp_mtime = 1000;
  WrittenLayer d = diff(o);
  auto entries = read_layer(d.blob.path);
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{"a.txt", "b/", "b/sub/", "b/sub/z", "b.txt", "link"}));
  EXPECT_EQ(d.entries, 6u);
  EXPECT_EQ(entries[0].mtime, 100);
  EXPECT_EQ(entries[0].perm, 0640u);
  EXPECT_EQ(entries[0].data, "a");
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_EQ(entries[i].mtime, 1000) << entries[i].name;
  EXPECT_EQ(entries[5].symlink, "a.txt");
  EXPECT_EQ(entries[0].uid, static_cast<int64_t>(::geteuid())) << "owners are kept";
}

TEST_F(LayerDiffTest, SameTreeGivesSameBytesAndGzipHasNoNameOrTime) {
  ASSERT_TRUE(fs::write_file(up("f"), "content"));
  LayerWriteOptions o = overlay();
  o.clamp_mtime = 0;
  WrittenLayer a = diff(o);
  set_mtime(up("f"), 12345);  // a different mtime above the clamp changes nothing
  WrittenLayer b = diff(o);
  EXPECT_EQ(a.blob.digest, b.blob.digest);
  EXPECT_EQ(a.diff_id, b.diff_id);
  auto gz = fs::read_file(a.blob.path);
  ASSERT_TRUE(gz);
  ASSERT_GE(gz->size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ((*gz)[3] & 0x08, 0) << "no FNAME in the gzip header";
  EXPECT_EQ(gz->substr(4, 4), std::string(4, '\0')) << "no MTIME in the gzip header";
  // The diff_id is the digest of the uncompressed tar.
  auto entries = read_layer(a.blob.path);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].mtime, 0);
  EXPECT_TRUE(is_sha256_digest(a.diff_id));
  EXPECT_NE(a.diff_id, a.blob.digest);
}

TEST_F(LayerDiffTest, NormalizeRewritesTheDirectoryToMatchTheTar) {
  ASSERT_TRUE(fs::make_dirs(up("d")));
  ASSERT_TRUE(fs::write_file(up("d/f"), "x"));
  LayerWriteOptions o = overlay();
  o.clamp_mtime = 500;
  o.normalize_dir = true;
  diff(o);
  struct stat st;
  ASSERT_EQ(::lstat(up("d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 500);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
  ASSERT_EQ(::lstat(up("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 500);
}

TEST_F(LayerDiffTest, HardlinksBecomeTarHardlinksAndEmptyDirsHaveNoEntries) {
  ASSERT_TRUE(fs::write_file(up("one"), "same"));
  ASSERT_EQ(::link(up("one").c_str(), up("two").c_str()), 0);
  auto entries = read_layer(diff().blob.path);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].name, "two");
  EXPECT_EQ(entries[1].hardlink, "one");

  TempDir empty("layer-diff-empty");
  auto d = write_layer(empty.path(), tmp_.path(), overlay());
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->entries, 0u);
}

TEST_F(LayerDiffTest, WhiteoutsAndOpaqueDirectoriesBecomeOciMarkers) {
  if (!testing::is_root()) GTEST_SKIP() << "making a 0/0 char device and trusted xattrs needs root";
  ASSERT_TRUE(fs::make_dirs(up("etc")));
  ASSERT_EQ(::mknod(up("etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_TRUE(fs::make_dirs(up("var/cache")));
  ASSERT_EQ(::chmod(up("var/cache").c_str(), 0750), 0);
  ASSERT_EQ(::lsetxattr(up("var/cache").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  ASSERT_TRUE(fs::write_file(up("var/cache/!first"), "kept"));
  ASSERT_EQ(::lchown(up("var/cache").c_str(), 7, 8), 0);
  // Overlay bookkeeping xattrs are dropped from the directory when normalizing.
  ASSERT_EQ(::lsetxattr(up("etc").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  LayerWriteOptions o = overlay();
  o.clamp_mtime = 0;
  o.normalize_dir = true;
  auto entries = read_layer(diff(o).blob.path);
  EXPECT_EQ(names(entries),
            (std::vector<std::string>{"etc/", "etc/.wh.gone", "var/", "var/cache/",
                                      "var/cache/.wh..wh..opq", "var/cache/!first"}));
  EXPECT_EQ(entries[1].type, AE_IFREG);
  EXPECT_EQ(entries[1].data, "");
  EXPECT_EQ(entries[4].type, AE_IFREG);
  EXPECT_EQ(entries[4].perm, 0750u) << "the opaque marker takes its directory's permissions";
  EXPECT_EQ(entries[4].uid, 7);
  EXPECT_EQ(entries[4].gid, 8);
  EXPECT_EQ(entries[3].uid, 7) << "owners are kept";
  EXPECT_LT(::lgetxattr(up("etc").c_str(), "trusted.overlay.origin", nullptr, 0), 0);
  char v[2];
  EXPECT_EQ(::lgetxattr(up("var/cache").c_str(), "trusted.overlay.opaque", v, sizeof v), 1)
      << "the opaque mark stays: the directory is the layer's unpacked form";
}

TEST_F(LayerDiffTest, RedirectedDirectoriesAreRefused) {
  if (!testing::is_root()) GTEST_SKIP() << "setting trusted xattrs needs root";
  ASSERT_TRUE(fs::make_dirs(up("moved")));
  ASSERT_EQ(::lsetxattr(up("moved").c_str(), "trusted.overlay.redirect", "/old", 4, 0), 0);
  auto d = write_layer(upper_.path(), tmp_.path(), overlay());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("moved: overlayfs redirect xattr"), std::string::npos)
      << d.error().message();
  EXPECT_EQ(fs::list_dir(tmp_.path())->size(), 0u) << "no half blob is left behind";
}

}  // namespace
}  // namespace slipway::oci
