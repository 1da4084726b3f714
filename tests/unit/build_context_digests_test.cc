// The build context's digest cache: a second digest of an unchanged context reads no file, a
// changed file (even to the same size, or rewritten within the same second) is read again and
// changes the digest, and a damaged cache file is an empty cache.
#include "oci/build/context_digests.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/fs.h"
#include "oci/build/sources.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

class ContextDigestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::make_dirs(context_ + "/src"));
    for (int i = 0; i < 20; ++i) write("src/file" + std::to_string(i), "content " + std::to_string(i));
    write("README", "hello");
    // A change in the clock tick the cache was taken in is never trusted: let that tick pass.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }

  void write(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(fs::write_file(context_ + "/" + rel, data)) << rel;
  }

  // The digest of `COPY . /` over the context, with the cache at cache_, and the files it read.
  std::pair<std::string, size_t> digest() {
    auto tree = ContextTree::open(context_, Dockerignore(), ContextDigests::load(cache_));
    EXPECT_TRUE(tree) << tree.error().message();
    auto matches = expand_sources(*tree, {"."});
    EXPECT_TRUE(matches) << matches.error().message();
    auto d = sources_digest(*tree, *matches);
    EXPECT_TRUE(d) << d.error().message();
    tree->digests().save();
    return {*d, tree->digests().files_read()};
  }

  TempDir dir_;
  std::string context_ = dir_.path() + "/context";
  std::string cache_ = dir_.path() + "/cache/digests";
};

TEST_F(ContextDigestsTest, AnUnchangedContextIsNotReadAgain) {
  auto [first, read_first] = digest();
  EXPECT_EQ(read_first, 21u);
  auto [second, read_second] = digest();
  EXPECT_EQ(second, first);
  EXPECT_EQ(read_second, 0u);
  struct stat st {};
  ASSERT_EQ(::stat(cache_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ContextDigestsTest, OnlyTheChangedFileIsReadAgain) {
  auto [first, _] = digest();
  write("src/file7", "CONTENT 7");  // the same size, in the same second
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto [second, read] = digest();
  EXPECT_NE(second, first);
  EXPECT_EQ(read, 1u);
  write("src/file7", "content 7");  // back as it was: the digest is the first one again
  auto [third, read_third] = digest();
  EXPECT_EQ(third, first);
  EXPECT_EQ(read_third, 1u);
}

TEST_F(ContextDigestsTest, AFileChangedJustNowIsReadEveryTime) {
  digest();
  write("README", "HELLO");  // no tick has passed when the next digest is taken: never cached
  auto [second, read] = digest();
  EXPECT_EQ(read, 1u);
  auto [third, read_again] = digest();
  EXPECT_EQ(third, second);
  EXPECT_LE(read_again, 1u);  // cached only if the clock ticked between the write and the listing
}

TEST_F(ContextDigestsTest, ARemovedOrAddedFileChangesTheDigest) {
  auto [first, _] = digest();
  ASSERT_EQ(::unlink((context_ + "/src/file3").c_str()), 0);
  auto [second, read] = digest();
  EXPECT_NE(second, first);
  EXPECT_EQ(read, 0u);
  write("src/new", "new");
  auto [third, read_new] = digest();
  EXPECT_NE(third, second);
  EXPECT_EQ(read_new, 1u);
}

TEST_F(ContextDigestsTest, ADamagedCacheIsAnEmptyOne) {
  auto [first, _] = digest();
  auto text = fs::read_file(cache_);
  ASSERT_TRUE(text);
  ASSERT_TRUE(fs::write_file(cache_, text->substr(0, text->size() - 5)));
  auto [second, read] = digest();
  EXPECT_EQ(second, first);
  EXPECT_EQ(read, 21u);
  ASSERT_TRUE(fs::write_file(cache_, "not a cache"));
  EXPECT_EQ(digest().second, 21u);
}

TEST(ContextDigestsFormat, RoundTripsAnyPathBytes) {
  TempDir dir;
  ContextDigests d = ContextDigests::load(dir.path() + "/cache");
  struct stat st {};
  st.st_dev = 7;
  st.st_ino = uint64_t{1} << 40;
  st.st_size = 5;
  st.st_mtim = {1000, 1};
  st.st_ctim = {1000, 2};
  std::string rel("a\nb\0c\xff", 6);
  d.record(rel, st, FileDigest{5, "sha256:x"});
  ContextDigests back = ContextDigests::parse(d.serialize());
  const FileDigest* found = back.find(rel, st);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->digest, "sha256:x");
  st.st_ctim.tv_nsec = 3;  // any other time stamp: not this file any more
  EXPECT_EQ(back.find(rel, st), nullptr);
  EXPECT_EQ(back.find("a", st), nullptr);
}

}  // namespace
}  // namespace slipway::oci
