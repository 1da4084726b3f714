// Layer unpack against crafted tar archives: content and metadata, whiteouts, compression, digest
// checks, and every hostile-layer class (nothing may appear outside the layer directory).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/layer/unpacker.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

constexpr time_t kMtime = 1600000000;

enum class Compression { kNone, kGzip, kZstd };

// Builds tar archives in memory with libarchive's writer.
class TarBuilder {
 public:
  TarBuilder& file(const std::string& name, const std::string& data, mode_t mode = 0644) {
    return add(
        name, AE_IFREG, mode,
        [data](struct archive_entry* e) {
          archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
        },
        data);
  }
  TarBuilder& dir(const std::string& name, mode_t mode = 0755) {
    return add(name, AE_IFDIR, mode, nullptr);
  }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    return add(name, AE_IFLNK, 0777,
               [target](struct archive_entry* e) { archive_entry_set_symlink(e, target.c_str()); });
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    return add(name, AE_IFREG, 0644, [target](struct archive_entry* e) {
      archive_entry_set_hardlink(e, target.c_str());
    });
  }
  TarBuilder& fifo(const std::string& name) { return add(name, AE_IFIFO, 0600, nullptr); }
  TarBuilder& mtime(time_t t) {
    entries_.back().mtime = t;
    return *this;
  }

  std::string build(Compression c = Compression::kGzip) const {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    // No padding to 10 KiB blocks: the plain and compressed streams then hold the same tar.
    archive_write_set_bytes_in_last_block(a, 1);
    if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
    if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
    archive_write_open(a, &out, nullptr, &TarBuilder::write_cb, nullptr);
    for (const auto& en : entries_) {
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, en.name.c_str());
      archive_entry_set_filetype(e, en.type);
      archive_entry_set_perm(e, en.mode);
      archive_entry_set_mtime(e, en.mtime, 0);
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
    mode_t type;
    mode_t mode;
    time_t mtime;
    std::function<void(struct archive_entry*)> setup;
    std::string data;
  };
  TarBuilder& add(const std::string& name, mode_t type, mode_t mode,
                  std::function<void(struct archive_entry*)> setup, std::string data = {}) {
    entries_.push_back({name, type, mode, kMtime, std::move(setup), std::move(data)});
    return *this;
  }
  static la_ssize_t write_cb(struct archive*, void* ctx, const void* buf, size_t n) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  std::vector<Entry> entries_;
};

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::make_dirs(outside()));
    ASSERT_TRUE(fs::write_file(fs::join(outside(), "keep"), "original"));
    ASSERT_TRUE(fs::make_dirs(fs::join(dir_.path(), "layers")));
    options_.preserve_owners = false;
    options_.overlay_xattr_namespace = "user.";
  }

  std::string outside() const { return fs::join(dir_.path(), "outside"); }
  std::string layer() const { return fs::join(dir_.path(), "layers/l1"); }
  std::string tmp() const { return fs::join(dir_.path(), "tmp"); }
  std::string in_layer(const std::string& rel) const { return fs::join(layer(), rel); }

  Result<UnpackStats> unpack(const std::string& blob, std::string_view diff_id = "") {
    std::string path = fs::join(dir_.path(), "blob");
    EXPECT_TRUE(fs::write_file(path, blob));
    auto fd = fs::open_file(path, O_RDONLY);
    EXPECT_TRUE(fd);
    return unpack_layer(fd->get(), diff_id, tmp(), layer(), options_);
  }

  // A rejected layer leaves no trace: nothing outside, no temp dir, no layer dir.
  void expect_rejected(const TarBuilder& tar, const std::string& entry) {
    auto r = unpack(tar.build());
    ASSERT_FALSE(r) << "layer with hostile entry '" << entry << "' was accepted";
    EXPECT_NE(r.error().message().find(entry), std::string::npos)
        << "error does not name the entry: " << r.error().message();
    EXPECT_EQ(*fs::list_dir(outside()), std::vector<std::string>{"keep"});
    EXPECT_EQ(*fs::read_file(fs::join(outside(), "keep")), "original");
    EXPECT_EQ(*fs::list_dir(tmp()), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(layer()));
  }

  struct stat lstat_of(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat(in_layer(rel).c_str(), &st), 0) << rel;
    return st;
  }

  TempDir dir_{"slipway-unpack"};
  UnpackOptions options_;
};

TEST_F(UnpackTest, KeepsContentModesMtimesSymlinksAndHardlinks) {
  std::string long_dir(120, 'd');
  TarBuilder tar;
  tar.dir("bin/", 0755)
      .file("bin/tool", "#!/bin/sh\n", 04755)
      .symlink("bin/alias", "tool")
      .hardlink("bin/tool2", "bin/tool")
      .dir("etc/", 0700)
      .file("etc/secret", "s", 0600)
      .mtime(1234567890)
      .fifo("run.fifo")
      .file(long_dir + "/" + long_dir + "/deep", "deep")
      .file("docs/na\xc3\xafve.txt", "utf8");
  std::string plain = tar.build(Compression::kNone);
  auto r = unpack(tar.build(), sha256_digest(plain));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_digest(plain));
  EXPECT_EQ(r->tar_size, plain.size());
  EXPECT_EQ(r->entries, 9u);

  EXPECT_EQ(*fs::read_file(in_layer("bin/tool")), "#!/bin/sh\n");
  EXPECT_EQ(lstat_of("bin/tool").st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of("bin/tool").st_mtim.tv_sec, kMtime);
  EXPECT_TRUE(S_ISLNK(lstat_of("bin/alias").st_mode));
  char target[16] = {};
  ASSERT_EQ(::readlink(in_layer("bin/alias").c_str(), target, sizeof target), 4);
  EXPECT_STREQ(target, "tool");
  EXPECT_EQ(lstat_of("bin/tool2").st_ino, lstat_of("bin/tool").st_ino);
  EXPECT_EQ(lstat_of("bin/tool").st_nlink, 2u);
  EXPECT_EQ(lstat_of("etc").st_mode & 07777, 0700u);
  EXPECT_EQ(lstat_of("etc").st_mtim.tv_sec, kMtime);  // set after its children were made
  EXPECT_EQ(lstat_of("etc/secret").st_mode & 07777, 0600u);
  EXPECT_EQ(lstat_of("etc/secret").st_mtim.tv_sec, 1234567890);
  EXPECT_TRUE(S_ISFIFO(lstat_of("run.fifo").st_mode));
  EXPECT_EQ(*fs::read_file(in_layer(long_dir + "/" + long_dir + "/deep")), "deep");
  EXPECT_EQ(*fs::read_file(in_layer("docs/na\xc3\xafve.txt")), "utf8");
  // Implicit parents get 0755, and the layer root too.
  EXPECT_EQ(lstat_of("docs").st_mode & 07777, 0755u);
  EXPECT_EQ(lstat_of("").st_mode & 07777, 0755u);
  EXPECT_EQ(*fs::list_dir(tmp()), std::vector<std::string>{});
}

TEST_F(UnpackTest, GzipZstdAndPlainGiveTheSameTreeAndDiffId) {
  TarBuilder tar;
  tar.dir("a/").file("a/f", std::string(300000, 'x')).file("b", "b");
  std::string diff_id = sha256_digest(tar.build(Compression::kNone));
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    ASSERT_TRUE(fs::remove_tree(layer()));
    auto r = unpack(tar.build(c), diff_id);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->diff_id, diff_id);
    EXPECT_EQ(fs::read_file(in_layer("a/f"))->size(), 300000u);
  }
}

TEST_F(UnpackTest, WhiteoutBecomesOverlayCharDevice) {
  TarBuilder tar;
  tar.dir("etc/").file("etc/.wh.passwd", "").file(".wh.gone", "");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  for (const char* rel : {"etc/passwd", "gone"}) {
    struct stat st = lstat_of(rel);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << rel;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << rel;
  }
  EXPECT_FALSE(fs::exists(in_layer("etc/.wh.passwd")));
}

TEST_F(UnpackTest, OpaqueMarkerBecomesOverlayXattr) {
  TarBuilder tar;
  tar.dir("var/").dir("var/cache/").file("var/cache/.wh..wh..opq", "").file("var/cache/new", "n");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  char value[4] = {};
  ASSERT_EQ(::getxattr(in_layer("var/cache").c_str(), "user.overlay.opaque", value, sizeof value),
            1)
      << strerror(errno);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(*fs::list_dir(in_layer("var/cache")), std::vector<std::string>{"new"});
}

TEST_F(UnpackTest, WhiteoutThenDirectoryInOneLayerGivesAnOpaqueDirectory) {
  TarBuilder tar;
  tar.file(".wh.data", "").dir("data/").file("data/x", "x");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(S_ISDIR(lstat_of("data").st_mode));
  char value[4] = {};
  EXPECT_EQ(::getxattr(in_layer("data").c_str(), "user.overlay.opaque", value, sizeof value), 1);
}

TEST_F(UnpackTest, WhiteoutThenFileBelowItWithoutDirectoryEntry) {
  TarBuilder tar;
  tar.file(".wh.data", "").file("data/x", "x");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*fs::read_file(in_layer("data/x")), "x");
  char value[4] = {};
  EXPECT_EQ(::getxattr(in_layer("data").c_str(), "user.overlay.opaque", value, sizeof value), 1);
}

TEST_F(UnpackTest, WhiteoutKeepsWhatTheSameLayerMade) {
  TarBuilder tar;
  tar.file("f", "mine").file(".wh.f", "");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*fs::read_file(in_layer("f")), "mine");
}

TEST_F(UnpackTest, AufsMetadataIsSkipped) {
  TarBuilder tar;
  tar.dir(".wh..wh.plnk/").file(".wh..wh.plnk/1234.5", "x").file("keep", "k");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*fs::list_dir(layer()), std::vector<std::string>{"keep"});
}

TEST_F(UnpackTest, LaterEntriesReplaceEarlierOnes) {
  TarBuilder tar;
  tar.file("a", "file")
      .dir("a/")
      .file("a/in", "in")
      .dir("b/")
      .file("b/x", "x")
      .file("b", "now a file")
      .symlink("c", outside() + "/keep")
      .file("c", "replaces the symlink, never writes through it")
      .file("d", "old")
      .file("d", "new");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*fs::read_file(in_layer("a/in")), "in");
  EXPECT_EQ(*fs::read_file(in_layer("b")), "now a file");
  EXPECT_TRUE(S_ISREG(lstat_of("c").st_mode));
  EXPECT_EQ(*fs::read_file(in_layer("d")), "new");
  EXPECT_EQ(*fs::read_file(fs::join(outside(), "keep")), "original");
}

TEST_F(UnpackTest, AbsoluteNamesLandInsideTheLayer) {
  TarBuilder tar;
  tar.file("/etc/hostname", "h").file(outside() + "/pwned", "p").file("./././x", "x");
  auto r = unpack(tar.build());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*fs::read_file(in_layer("etc/hostname")), "h");
  EXPECT_EQ(*fs::read_file(in_layer(outside() + "/pwned")), "p");
  EXPECT_EQ(*fs::read_file(in_layer("x")), "x");
  EXPECT_EQ(*fs::list_dir(outside()), std::vector<std::string>{"keep"});
}

TEST_F(UnpackTest, DigestMismatchIsRejectedAndCleanedUp) {
  TarBuilder tar;
  tar.file("f", "content");
  std::string wrong = sha256_digest("something else");
  auto r = unpack(tar.build(), wrong);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(wrong), std::string::npos) << r.error().message();
  EXPECT_FALSE(fs::exists(layer()));
  EXPECT_EQ(*fs::list_dir(tmp()), std::vector<std::string>{});
}

TEST_F(UnpackTest, NonTarAndCorruptStreamsAreRejected) {
  auto r = unpack("this is not a tar archive at all, just some text that is long enough");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("not a tar archive"), std::string::npos)
      << r.error().message();
  TarBuilder tar;
  tar.file("big", std::string(1 << 20, 'z'));
  std::string gz = tar.build();
  r = unpack(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(r);
  EXPECT_FALSE(fs::exists(layer()));
  EXPECT_EQ(*fs::list_dir(tmp()), std::vector<std::string>{});
}

TEST_F(UnpackTest, ScanReportsTheSameDigestWithoutWriting) {
  TarBuilder tar;
  tar.dir("a/").file("a/f", "f").symlink("l", "/etc");
  std::string plain = tar.build(Compression::kNone);
  std::string path = fs::join(dir_.path(), "scan-blob");
  ASSERT_TRUE(fs::write_file(path, tar.build(Compression::kZstd)));
  auto fd = fs::open_file(path, O_RDONLY);
  auto r = scan_layer(fd->get());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_digest(plain));
  EXPECT_EQ(r->tar_size, plain.size());
  EXPECT_EQ(r->entries, 3u);

  ASSERT_TRUE(fs::write_file(path, TarBuilder().file("../evil", "x").build()));
  auto fd2 = fs::open_file(path, O_RDONLY);
  auto bad = scan_layer(fd2->get());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("../evil"), std::string::npos);
}

// --- hostile layers ------------------------------------------------------------------------------

TEST_F(UnpackTest, RejectsTraversal) {
  expect_rejected(TarBuilder().file("ok", "x").file("../../outside/pwned", "p"),
                  "../../outside/pwned");
}

TEST_F(UnpackTest, RejectsTraversalHiddenInAbsoluteName) {
  expect_rejected(TarBuilder().file("/../outside/pwned", "p"), "/../outside/pwned");
}

TEST_F(UnpackTest, RejectsWriteThroughSymlinkMadeEarlier) {
  expect_rejected(TarBuilder().symlink("link", outside()).file("link/pwned", "p"), "link/pwned");
}

TEST_F(UnpackTest, RejectsWriteThroughRelativeEscapingSymlink) {
  expect_rejected(TarBuilder().symlink("up", "../../outside").file("up/pwned", "p"), "up/pwned");
}

TEST_F(UnpackTest, RejectsFileBelowSymlinkedDirectory) {
  expect_rejected(TarBuilder()
                      .dir("real/")
                      .symlink("alias", outside())
                      .dir("alias/sub/")
                      .file("alias/sub/pwned", "p"),
                  "alias/sub/");
}

TEST_F(UnpackTest, RejectsHardlinkOutside) {
  expect_rejected(TarBuilder().hardlink("h", "../../outside/keep"), "h");
}

TEST_F(UnpackTest, RejectsHardlinkToAbsolutePathNotInLayer) {
  expect_rejected(TarBuilder().hardlink("h", outside() + "/keep"), "h");
}

TEST_F(UnpackTest, RejectsHardlinkThroughSymlink) {
  expect_rejected(TarBuilder().symlink("link", outside()).hardlink("h", "link/keep"), "h");
}

TEST_F(UnpackTest, RejectsWhiteoutOutside) {
  expect_rejected(TarBuilder().file("../.wh.outside", ""), "../.wh.outside");
  expect_rejected(TarBuilder().dir("a/").file("a/.wh..", ""), "a/.wh..");
  expect_rejected(TarBuilder().file(".wh...", ""), ".wh...");
  expect_rejected(TarBuilder().file("../../outside/.wh..wh..opq", ""),
                  "../../outside/.wh..wh..opq");
}

TEST_F(UnpackTest, RejectsWhiteoutThroughSymlink) {
  expect_rejected(TarBuilder().symlink("link", outside()).file("link/.wh.keep", ""),
                  "link/.wh.keep");
}

}  // namespace
}  // namespace slipway::oci
