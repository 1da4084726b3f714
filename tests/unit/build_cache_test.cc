// The layer cache: keys, entries on disk, and when an entry does not count as a hit.
#include "oci/build/cache.h"

#include <gtest/gtest.h>

#include "base/fs.h"
#include "oci/digest.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;

TEST(BuildCacheKeyTest, HashesParentAndCanonicalStep) {
  nlohmann::json step = {{"run", {"sh", "-c", "x"}}, {"env", {"A=1"}}};
  std::string k = cache_key("sha256:parent", step);
  EXPECT_TRUE(is_sha256_digest(k));
  EXPECT_EQ(cache_key("sha256:parent", step), k);
  // Key order in the step does not matter: the JSON is canonical.
  nlohmann::json reordered = {{"env", {"A=1"}}, {"run", {"sh", "-c", "x"}}};
  EXPECT_EQ(cache_key("sha256:parent", reordered), k);
  EXPECT_NE(cache_key("sha256:other", step), k);
  step["env"] = {"A=2"};
  EXPECT_NE(cache_key("sha256:parent", step), k);
}

class BuildCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(blobs_.init()); }
  TempDir root_{"build-cache"};
  BlobStore blobs_{root_.path()};
  BuildCache cache_{fs::join(root_.path(), "build-cache")};
};

TEST_F(BuildCacheTest, StoresAndFindsEntriesWhoseBlobsExist) {
  std::string key = cache_key("", {{"step", 1}});
  EXPECT_FALSE(cache_.lookup(key, blobs_));

  auto digest = blobs_.put("layer bytes");
  ASSERT_TRUE(digest);
  CacheEntry entry;
  entry.layer = CachedLayer{};
  entry.layer->blob.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
  entry.layer->blob.digest = *digest;
  entry.layer->blob.size = 11;
  entry.layer->diff_id = sha256_digest("tar");
  entry.layer->tar_size = 1024;
  ASSERT_TRUE(cache_.store(key, entry));
  auto hit = cache_.lookup(key, blobs_);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, entry);

  // A step that changed nothing is a hit without a layer.
  std::string empty_key = cache_key("", {{"step", 2}});
  ASSERT_TRUE(cache_.store(empty_key, CacheEntry{}));
  auto empty = cache_.lookup(empty_key, blobs_);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->layer);

  // The blob was collected (image rm): a miss, not an error.
  ASSERT_TRUE(blobs_.remove(*digest));
  EXPECT_FALSE(cache_.lookup(key, blobs_));
}

TEST_F(BuildCacheTest, DamagedOrForeignEntriesAreMisses) {
  std::string key = cache_key("", {{"step", 3}});
  std::string hex = key.substr(7);
  std::string path = fs::join(fs::join(root_.path(), "build-cache"), hex + ".json");
  ASSERT_TRUE(cache_.store(key, CacheEntry{}));
  ASSERT_TRUE(fs::write_file(path, "{not json"));
  EXPECT_FALSE(cache_.lookup(key, blobs_));
  // An entry written under another key (a renamed file) does not count.
  std::string other = cache_key("", {{"step", 4}});
  ASSERT_TRUE(cache_.store(other, CacheEntry{}));
  ASSERT_TRUE(fs::write_file(path, *fs::read_file(fs::join(fs::join(root_.path(), "build-cache"),
                                                           other.substr(7) + ".json"))));
  EXPECT_FALSE(cache_.lookup(key, blobs_));
  EXPECT_FALSE(cache_.lookup("not-a-digest", blobs_));
}

}  // namespace
}  // namespace slipway::oci
