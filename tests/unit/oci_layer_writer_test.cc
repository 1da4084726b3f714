// Deterministic layer packing (write_layer), checked by unpacking what it wrote, and the rule that
// the plain form (`image import`) and the overlay form (build layers) pack alike. The overlay
// form's own entries (whiteouts, opaque dirs, normalizing) are in layer_diff_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/layer/unpacker.h"
#include "oci/layer/writer.h"
#include "oci/libarchive.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

LayerWriteOptions overlay_form() {
  LayerWriteOptions o;
  o.overlay = true;
  return o;
}

// The layer's tar, read back out of its gzip stream.
std::string gunzip(const std::string& gz) {
  ArchivePtr a = new_archive_reader();
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  EXPECT_EQ(archive_read_open_memory(a.get(), gz.data(), gz.size()), ARCHIVE_OK);
  struct archive_entry* e;
  EXPECT_EQ(archive_read_next_header(a.get(), &e), ARCHIVE_OK);
  std::string out;
  char buf[1 << 16];
  for (la_ssize_t n; (n = archive_read_data(a.get(), buf, sizeof buf)) > 0;) out.append(buf, n);
  return out;
}

// What gzip at `level`, with no name and no time in the header, makes of `data`.
std::string gzip_at(const std::string& data, int level) {
  ArchivePtr a = new_archive_writer();
  archive_write_set_format_raw(a.get());
  archive_write_add_filter_gzip(a.get());
  EXPECT_EQ(archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr), ARCHIVE_OK);
  EXPECT_EQ(archive_write_set_filter_option(a.get(), "gzip", "compression-level",
                                            std::to_string(level).c_str()),
            ARCHIVE_OK);
  archive_write_set_bytes_in_last_block(a.get(), 1);
  std::string out;
  auto sink = [](struct archive*, void* ctx, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  EXPECT_EQ(archive_write_open(a.get(), &out, nullptr, sink, nullptr), ARCHIVE_OK);
  EntryPtr e = new_archive_entry();
  archive_entry_set_pathname(e.get(), "layer.tar");
  archive_entry_set_filetype(e.get(), AE_IFREG);
  EXPECT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK);
  EXPECT_EQ(archive_write_data(a.get(), data.data(), data.size()),
            static_cast<la_ssize_t>(data.size()));
  EXPECT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
  return out;
}

// Names and file types of the entries of a layer blob.
std::vector<std::pair<std::string, mode_t>> entries_of(const std::string& blob_path) {
  ArchivePtr a = new_archive_reader();
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());
  EXPECT_EQ(archive_read_open_filename(a.get(), blob_path.c_str(), 1 << 16), ARCHIVE_OK);
  std::vector<std::pair<std::string, mode_t>> out;
  struct archive_entry* e;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK)
    out.emplace_back(archive_entry_pathname(e), archive_entry_filetype(e));
  return out;
}

class LayerWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::make_dirs(src("bin")));
    ASSERT_TRUE(fs::make_dirs(src("etc/empty")));
    ASSERT_TRUE(fs::write_file(src("bin/tool"), "tool", 0755));
    ASSERT_TRUE(fs::write_file(src("etc/conf"), std::string(200000, 'c'), 0640));
    ASSERT_EQ(::chmod(src("bin/tool").c_str(), 04755), 0);
    ASSERT_EQ(::link(src("bin/tool").c_str(), src("bin/tool-link").c_str()), 0);
    ASSERT_EQ(::symlink("../etc/conf", src("bin/conf").c_str()), 0);
    ASSERT_EQ(::mkfifo(src("fifo").c_str(), 0600), 0);
    set_mtime("etc/conf", 1500000000);
    set_mtime("bin/tool", 1500000001);
    ASSERT_TRUE(fs::make_dirs(tmp()));
  }

  std::string src(const std::string& rel) const { return fs::join(dir_.path(), "src/" + rel); }
  std::string tmp() const { return fs::join(dir_.path(), "tmp"); }
  void set_mtime(const std::string& rel, time_t t) {
    timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, src(rel).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  }

  TempDir dir_{"slipway-layer-writer"};
};

TEST_F(LayerWriterTest, SameTreeGivesSameBytes) {
  auto a = write_layer(src(""), tmp());
  auto b = write_layer(src(""), tmp());
  ASSERT_TRUE(a) << a.error().message();
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(a->blob.digest, b->blob.digest);
  EXPECT_EQ(a->diff_id, b->diff_id);
  EXPECT_EQ(*fs::read_file(a->blob.path), *fs::read_file(b->blob.path));
  // The staged file is what its digest says, and gzip carries no name and no time.
  std::string blob = *fs::read_file(a->blob.path);
  EXPECT_EQ(sha256_digest(blob), a->blob.digest);
  EXPECT_EQ(static_cast<int64_t>(blob.size()), a->blob.size);
  ASSERT_GE(blob.size(), 10u);
  EXPECT_EQ(blob.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(blob[3] & 0x08, 0) << "FNAME flag set";
  EXPECT_EQ(blob.substr(4, 4), std::string(4, '\0')) << "gzip MTIME set";
  ::unlink(a->blob.path.c_str());
  ::unlink(b->blob.path.c_str());
}

TEST_F(LayerWriterTest, ContentChangeChangesDigest) {
  auto a = write_layer(src(""), tmp());
  set_mtime("etc/conf", 1500000002);
  auto b = write_layer(src(""), tmp());
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->diff_id, b->diff_id);
}

TEST_F(LayerWriterTest, UnpacksBackToTheSameTree) {
  auto w = write_layer(src(""), tmp());
  ASSERT_TRUE(w) << w.error().message();
  auto fd = fs::open_file(w->blob.path, O_RDONLY);
  ASSERT_TRUE(fd);
  UnpackOptions opts;
  opts.preserve_owners = false;
  opts.overlay_xattr_namespace = "user.";
  std::string out = fs::join(dir_.path(), "out");
  auto r = unpack_layer(fd->get(), w->diff_id, tmp(), out, opts);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(static_cast<int64_t>(r->tar_size), w->tar_size);
  EXPECT_EQ(r->entries, 8u);  // bin/ bin/conf bin/tool bin/tool-link etc/ etc/conf etc/empty/ fifo
  struct stat tool, link, conf, fifo;
  ASSERT_EQ(::lstat((out + "/bin/tool").c_str(), &tool), 0);
  ASSERT_EQ(::lstat((out + "/bin/tool-link").c_str(), &link), 0);
  ASSERT_EQ(::lstat((out + "/etc/conf").c_str(), &conf), 0);
  ASSERT_EQ(::lstat((out + "/fifo").c_str(), &fifo), 0);
  EXPECT_EQ(tool.st_ino, link.st_ino);
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  EXPECT_EQ(tool.st_mtim.tv_sec, 1500000001);
  EXPECT_EQ(conf.st_mode & 07777, 0640u);
  EXPECT_EQ(conf.st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(conf.st_size, 200000);
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
  char target[32] = {};
  ASSERT_GT(::readlink((out + "/bin/conf").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "../etc/conf");
  EXPECT_TRUE(fs::is_dir(out + "/etc/empty"));
  ::unlink(w->blob.path.c_str());
}

// One packer serves both: for a tree with nothing overlay-specific in it, the overlay form must
// give the plain form's bytes, with and without clamped mtimes.
TEST_F(LayerWriterTest, PlainAndOverlayFormsGiveTheSameBytes) {
  for (std::optional<int64_t> clamp :
       {std::optional<int64_t>(), std::optional<int64_t>(1500000000)}) {
    LayerWriteOptions plain_opts;
    plain_opts.clamp_mtime = clamp;
    LayerWriteOptions overlay_opts = overlay_form();
    overlay_opts.clamp_mtime = clamp;
    auto plain = write_layer(src(""), tmp(), plain_opts);
    auto overlay = write_layer(src(""), tmp(), overlay_opts);
    ASSERT_TRUE(plain) << plain.error().message();
    ASSERT_TRUE(overlay) << overlay.error().message();
    EXPECT_EQ(plain->blob.digest, overlay->blob.digest);
    EXPECT_EQ(plain->blob.size, overlay->blob.size);
    EXPECT_EQ(plain->diff_id, overlay->diff_id);
    EXPECT_EQ(plain->tar_size, overlay->tar_size);
    EXPECT_EQ(plain->entries, 8u);
    EXPECT_EQ(overlay->entries, 8u);
    EXPECT_EQ(*fs::read_file(plain->blob.path), *fs::read_file(overlay->blob.path));
    ::unlink(plain->blob.path.c_str());
    ::unlink(overlay->blob.path.c_str());
  }
}

// The reproducibility rule, for both forms: the blob is exactly the tar gzipped at
// kLayerGzipLevel with no name and no time, whatever libarchive's or zlib's default level is.
TEST_F(LayerWriterTest, BothFormsGzipAtTheFixedLevel) {
  for (const LayerWriteOptions& o : {LayerWriteOptions(), overlay_form()}) {
    auto w = write_layer(src(""), tmp(), o);
    ASSERT_TRUE(w) << w.error().message();
    std::string blob = *fs::read_file(w->blob.path);
    std::string tar = gunzip(blob);
    EXPECT_EQ(static_cast<int64_t>(tar.size()), w->tar_size);
    EXPECT_EQ(sha256_digest(tar), w->diff_id);
    EXPECT_EQ(blob, gzip_at(tar, kLayerGzipLevel)) << "overlay form: " << o.overlay;
    // The comparison can tell levels apart on this tree, so a changed level would not pass.
    EXPECT_NE(blob, gzip_at(tar, 1));
    ::unlink(w->blob.path.c_str());
  }
}

// Where the forms must differ: only the overlay form reads a 0/0 char device as a whiteout.
TEST_F(LayerWriterTest, OnlyTheOverlayFormTurnsWhiteoutDevicesIntoMarkers) {
  if (!testing::is_root()) GTEST_SKIP() << "making a 0/0 char device needs root";
  ASSERT_EQ(::mknod(src("etc/gone").c_str(), S_IFCHR | 0600, makedev(0, 0)), 0);
  auto plain = write_layer(src(""), tmp());
  auto overlay = write_layer(src(""), tmp(), overlay_form());
  ASSERT_TRUE(plain) << plain.error().message();
  ASSERT_TRUE(overlay) << overlay.error().message();
  auto plain_entries = entries_of(plain->blob.path);
  auto overlay_entries = entries_of(overlay->blob.path);
  ASSERT_EQ(plain_entries.size(), 9u);
  ASSERT_EQ(overlay_entries.size(), 9u);
  EXPECT_EQ(plain_entries[7], std::make_pair(std::string("etc/gone"), mode_t{AE_IFCHR}));
  EXPECT_EQ(overlay_entries[7], std::make_pair(std::string("etc/.wh.gone"), mode_t{AE_IFREG}));
  ::unlink(plain->blob.path.c_str());
  ::unlink(overlay->blob.path.c_str());
}

TEST_F(LayerWriterTest, MissingDirectoryIsAnError) {
  auto r = write_layer(fs::join(dir_.path(), "nope"), tmp());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace slipway::oci
