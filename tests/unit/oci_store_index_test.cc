// images.json records: serialization, reference lookup and name moves.
#include <gtest/gtest.h>

#include <cerrno>

#include "oci/store/index.h"

namespace slipway::oci {
namespace {

std::string digest(char c) {
  return "sha256:" + std::string(64, c);
}

StoreIndex sample() {
  StoreIndex idx;
  upsert_image(
      idx, {"sha256:abc1" + std::string(60, '0'), digest('1'), {"busybox:latest", "busybox:1.36"}});
  upsert_image(idx, {"sha256:abc2" + std::string(60, '0'), digest('2'), {"app:v1"}});
  upsert_image(idx, {"sha256:ffff" + std::string(60, '0'), digest('3'), {}});
  return idx;
}

TEST(StoreIndex, RoundTripsThroughJson) {
  StoreIndex idx = sample();
  idx.layers[digest('9')] = {digest('8'), 1234};
  auto back = parse_store_index(to_json(idx));
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->images.size(), 3u);
  EXPECT_EQ(back->images[0].names, (std::vector<std::string>{"busybox:1.36", "busybox:latest"}));
  EXPECT_EQ(back->layers.at(digest('9')).diff_id, digest('8'));
  EXPECT_EQ(back->layers.at(digest('9')).size, 1234);
  EXPECT_EQ(to_json(*back), to_json(idx));
}

TEST(StoreIndex, RejectsDamagedFiles) {
  EXPECT_FALSE(parse_store_index("{"));
  EXPECT_FALSE(parse_store_index(R"({"version":9})"));
  EXPECT_FALSE(parse_store_index(R"({"version":1,"images":[{"id":"x","manifest":"y"}]})"));
  EXPECT_FALSE(parse_store_index(R"({"version":1,"images":{}})"));
}

TEST(StoreIndex, FindsByNameDefaultTagAndHubPrefix) {
  StoreIndex idx = sample();
  for (const char* ref : {"busybox", "busybox:latest", "docker.io/library/busybox"}) {
    auto m = find_image(idx, ref);
    ASSERT_TRUE(m) << ref << ": " << m.error().message();
    EXPECT_EQ(m->kind, MatchKind::kName);
    EXPECT_EQ(m->name, "busybox:latest");
  }
  EXPECT_EQ(find_image(idx, "busybox:1.36")->image->manifest_digest, digest('1'));
  auto missing = find_image(idx, "busybox:2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "no such image: busybox:2");
  EXPECT_EQ(missing.error().code(), ENOENT);  // what `run --pull missing` pulls on, and only that
}

TEST(StoreIndex, FindsByDigestAndIdPrefix) {
  StoreIndex idx = sample();
  auto by_manifest = find_image(idx, digest('2'));
  ASSERT_TRUE(by_manifest);
  EXPECT_EQ(by_manifest->image->names, std::vector<std::string>{"app:v1"});
  EXPECT_EQ(by_manifest->kind, MatchKind::kDigest);
  EXPECT_EQ(find_image(idx, "app@" + digest('2'))->image->manifest_digest, digest('2'));
  EXPECT_FALSE(find_image(idx, "busybox@" + digest('2')));  // digest of another repository
  auto prefix = find_image(idx, "ffff");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->kind, MatchKind::kIdPrefix);
  EXPECT_TRUE(find_image(idx, "sha256:abc2"));
  auto ambiguous = find_image(idx, "abc");
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message().find("ambiguous"), std::string::npos);
  EXPECT_NE(ambiguous.error().code(), ENOENT);  // not pulled as if it were missing
  EXPECT_EQ(find_image(idx, "busybox@" + digest('2')).error().code(), ENOENT);
  EXPECT_EQ(find_image(idx, digest('9')).error().code(), ENOENT);
}

TEST(StoreIndex, NamesWinOverIdPrefixes) {
  StoreIndex idx = sample();
  upsert_image(idx, {"sha256:9999" + std::string(60, '0'), digest('4'), {"ffff:latest"}});
  auto m = find_image(idx, "ffff");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, MatchKind::kName);
  EXPECT_EQ(m->image->manifest_digest, digest('4'));
}

TEST(StoreIndex, UpsertMovesNamesAndMerges) {
  StoreIndex idx = sample();
  std::string app_id = find_image(idx, "app:v1")->image->id;
  auto losers = upsert_image(
      idx, {"sha256:1111" + std::string(60, '0'), digest('5'), {"app:v1", "busybox:latest"}});
  EXPECT_EQ(losers.size(), 2u);
  EXPECT_EQ(find_image(idx, "app:v1")->image->manifest_digest, digest('5'));
  // The old app image stays, untagged, like Docker's dangling images.
  EXPECT_TRUE(find_image(idx, app_id)->image->names.empty());
  // Same id again: names accumulate.
  upsert_image(idx, {"sha256:1111" + std::string(60, '0'), digest('5'), {"app:v2"}});
  EXPECT_EQ(find_image(idx, "app:v2")->image->names,
            (std::vector<std::string>{"app:v1", "app:v2", "busybox:latest"}));
}

}  // namespace
}  // namespace slipway::oci
