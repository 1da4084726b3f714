// The content-addressed blob store: nothing enters under a digest it does not hash to.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "oci/store/blob_store.h"
#include "oci/digest.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.init()); }
  StagedFile stage(const std::string& data) {
    std::string src = fs::join(dir_.path(), "src");
    EXPECT_TRUE(fs::write_file(src, data));
    auto fd = fs::open_file(src, O_RDONLY);
    auto staged = stage_file(fd->get(), store_.tmp_dir(), "blob");
    EXPECT_TRUE(staged) << staged.error().message();
    return *staged;
  }

  testing::TempDir dir_{"slipway-blobs"};
  BlobStore store_{dir_.path()};
};

TEST_F(BlobStoreTest, PutStoresUnderTheContentDigest) {
  auto digest = store_.put("hello");
  ASSERT_TRUE(digest);
  EXPECT_EQ(*digest, sha256_digest("hello"));
  EXPECT_EQ(store_.path(*digest), fs::join(dir_.path(), "blobs/sha256/" + digest->substr(7)));
  EXPECT_TRUE(store_.contains(*digest));
  EXPECT_EQ(*store_.size_of(*digest), 5);
  EXPECT_EQ(*store_.read(*digest), "hello");
  EXPECT_EQ(*store_.list(), std::vector<std::string>{*digest});
  EXPECT_EQ(*fs::list_dir(store_.tmp_dir()), std::vector<std::string>{});
}

TEST_F(BlobStoreTest, StagingHashesWhatItCopies) {
  std::string data(3 << 20, 'q');
  StagedFile f = stage(data);
  EXPECT_EQ(f.digest, sha256_digest(data));
  EXPECT_EQ(f.size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(*fs::read_file(f.path), data);
  ASSERT_TRUE(store_.adopt(f, f.digest, f.size, /*keep_source=*/false));
  EXPECT_FALSE(fs::exists(f.path));
  EXPECT_TRUE(store_.contains(f.digest));
}

TEST_F(BlobStoreTest, AdoptRefusesContentThatIsNotWhatTheDescriptorSays) {
  StagedFile f = stage("real content");
  std::string claimed = sha256_digest("claimed content");
  auto wrong_digest = store_.adopt(f, claimed, f.size, false);
  ASSERT_FALSE(wrong_digest);
  EXPECT_NE(wrong_digest.error().message().find(claimed), std::string::npos);
  auto wrong_size = store_.adopt(f, f.digest, f.size + 1, false);
  ASSERT_FALSE(wrong_size);
  EXPECT_NE(wrong_size.error().message().find("size is 12 bytes but its descriptor says 13"),
            std::string::npos);
  EXPECT_FALSE(store_.contains(claimed));
  EXPECT_FALSE(store_.contains(f.digest));
  EXPECT_FALSE(store_.adopt(f, "sha256:short", f.size, false));
}

TEST_F(BlobStoreTest, StagingStopsAtTheDeclaredSize) {
  std::string src = fs::join(dir_.path(), "big");
  ASSERT_TRUE(fs::write_file(src, std::string(4 << 20, 'x')));
  auto fd = fs::open_file(src, O_RDONLY);
  auto staged = stage_file(fd->get(), store_.tmp_dir(), "blob", 10);
  ASSERT_FALSE(staged);
  EXPECT_NE(staged.error().message().find("larger than its declared size 10"), std::string::npos);
  // Refused after at most one read block, not after the whole file.
  EXPECT_LT(::lseek(fd->get(), 0, SEEK_CUR), 4 << 20);
  EXPECT_TRUE(fs::list_dir(store_.tmp_dir())->empty()) << "nothing left behind";
  auto exact = fs::open_file(src, O_RDONLY);
  EXPECT_TRUE(stage_file(exact->get(), store_.tmp_dir(), "blob", 4 << 20));
}

TEST_F(BlobStoreTest, PartialFilesOfDeadProcessesAreRemoved) {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string tmp = store_.tmp_dir();
  ASSERT_TRUE(fs::write_file(fmt::format("{}/blob-{}-abc", tmp, dead), "half"));
  ASSERT_TRUE(fs::make_dirs(fmt::format("{}/build-{}-0123/layer/x", tmp, dead)));
  ASSERT_TRUE(fs::write_file(fmt::format("{}/blob-{}-def", tmp, ::getpid()), "in progress"));
  ASSERT_TRUE(fs::write_file(tmp + "/notes", "not ours"));
  ASSERT_TRUE(fs::write_file(tmp + "/download-123456", "a mkstemp name, no pid"));
  auto removed = remove_partial_files(tmp);
  ASSERT_TRUE(removed) << removed.error().message();
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_EQ(*fs::list_dir(tmp), (std::vector<std::string>{fmt::format("blob-{}-def", ::getpid()),
                                                          "download-123456", "notes"}));
}

TEST_F(BlobStoreTest, KeepSourceLinksInsteadOfMoving) {
  StagedFile f = stage("shared");
  ASSERT_TRUE(store_.adopt(f, f.digest, f.size, /*keep_source=*/true));
  EXPECT_TRUE(fs::exists(f.path));
  EXPECT_TRUE(store_.contains(f.digest));
  ::unlink(f.path.c_str());
}

TEST_F(BlobStoreTest, ReadDetectsDamageInTheStore) {
  auto digest = store_.put("{\"a\":1}");
  ASSERT_TRUE(digest);
  ASSERT_TRUE(fs::write_file(store_.path(*digest), "{\"a\":2}"));
  auto r = store_.read(*digest);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("corrupt"), std::string::npos);
  auto missing = store_.read(sha256_digest("never stored"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("is not in the store"), std::string::npos);
}

TEST_F(BlobStoreTest, RemoveIsIdempotent) {
  auto digest = store_.put("x");
  ASSERT_TRUE(store_.remove(*digest));
  EXPECT_FALSE(store_.contains(*digest));
  EXPECT_TRUE(store_.remove(*digest));
}

}  // namespace
}  // namespace slipway::oci
