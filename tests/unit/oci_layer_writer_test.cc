// Deterministic layer packing for `image import`, checked by unpacking what it wrote.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/layer/unpacker.h"
#include "oci/layer/writer.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

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

TEST_F(LayerWriterTest, MissingDirectoryIsAnError) {
  auto r = write_layer(fs::join(dir_.path(), "nope"), tmp());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace slipway::oci
