// SHA-256 digests, blob checks and chain ids.
#include <gtest/gtest.h>

#include "oci/digest.h"

namespace slipway::oci {
namespace {

constexpr char kEmpty[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_digest(""), kEmpty);
  EXPECT_EQ(sha256_digest("abc"), kAbc);
}

TEST(Sha256, StreamingEqualsOneShotAndCountsBytes) {
  Sha256 h;
  h.update("a");
  h.update(std::string_view("bc"));
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.finish(), kAbc);
  // finish() starts over.
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.finish(), kEmpty);
}

TEST(Digest, Validation) {
  EXPECT_TRUE(is_sha256_digest(kAbc));
  EXPECT_FALSE(
      is_sha256_digest("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(is_sha256_digest("sha256:ba7816"));
  EXPECT_FALSE(is_sha256_digest(std::string(kAbc) + "0"));
  EXPECT_FALSE(
      is_sha256_digest("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  auto hex = digest_hex(kAbc);
  ASSERT_TRUE(hex);
  EXPECT_EQ(*hex, std::string_view(kAbc).substr(7));
  auto other = digest_hex("sha512:abcd");
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("unsupported digest algorithm 'sha512'"),
            std::string::npos);
  auto bad = digest_hex("sha256:xyz");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("sha256:xyz"), std::string::npos);
}

TEST(Digest, CheckBlobNamesTheDigestAndTheProblem) {
  EXPECT_TRUE(check_blob(kAbc, 3, kAbc, 3));
  EXPECT_TRUE(check_blob(kAbc, -1, kAbc, 3));  // size unknown
  auto size = check_blob(kAbc, 4, kAbc, 3);
  ASSERT_FALSE(size);
  EXPECT_EQ(size.error().message(),
            std::string("blob ") + kAbc + ": size is 3 bytes but its descriptor says 4");
  auto content = check_blob(kAbc, 3, kEmpty, 3);
  ASSERT_FALSE(content);
  EXPECT_NE(content.error().message().find(kAbc), std::string::npos);
  EXPECT_NE(content.error().message().find(kEmpty), std::string::npos);
}

TEST(Digest, ChainIdsFollowTheOciDefinition) {
  std::string a = sha256_digest("layer a"), b = sha256_digest("layer b"),
              c = sha256_digest("layer c");
  auto ids = chain_ids({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], sha256_digest(a + " " + b));
  EXPECT_EQ(ids[2], sha256_digest(ids[1] + " " + c));
  EXPECT_TRUE(chain_ids({}).empty());
}

TEST(Digest, ChainIdMatchesAnIndependentComputation) {
  // Computed with Python's hashlib over "<diff0> <diff1>".
  std::string l0 = "sha256:d4fc045c9e3a848011de66f34b81f052d4f2c15a17bb196d637e526349601820";
  std::string l1 = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
  auto ids = chain_ids({l0, l1});
  EXPECT_EQ(ids[0], l0);
  EXPECT_EQ(ids[1], "sha256:e7b3c471bae09205ceffdbf40a13814868638d845e94aaf8806204cd25c65eec");
}

TEST(Digest, IsHex) {
  EXPECT_TRUE(is_hex("0123456789abcdef"));
  EXPECT_FALSE(is_hex(""));
  EXPECT_FALSE(is_hex("ABC"));
  EXPECT_FALSE(is_hex("12g"));
}

}  // namespace
}  // namespace slipway::oci
