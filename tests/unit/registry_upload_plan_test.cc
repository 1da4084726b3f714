// The upload plan (one PUT or PATCH chunks), the manifest a push sends, and where blobs were seen.
#include "oci/registry/upload_plan.h"

#include <gtest/gtest.h>

#include "oci/digest.h"
#include "oci/registry/blob_locations.h"
#include "oci/registry/push.h"

namespace slipway::oci {
namespace {

constexpr int64_t kMiB = 1 << 20;

TEST(UploadPlan, SmallBlobsGoInOnePut) {
  EXPECT_EQ(plan_upload(0, kDefaultChunkSize).method, UploadPlan::Method::kMonolithic);
  EXPECT_EQ(plan_upload(5 * kMiB, kDefaultChunkSize).method, UploadPlan::Method::kMonolithic);
  auto at_limit = plan_upload(32 * kMiB, 32 * kMiB);
  EXPECT_EQ(at_limit.method, UploadPlan::Method::kMonolithic);
  EXPECT_TRUE(at_limit.chunks.empty());
}

TEST(UploadPlan, LargeBlobsGoInChunksCoveringEveryByte) {
  auto p = plan_upload(47 * kMiB + 5, 32 * kMiB);
  ASSERT_EQ(p.method, UploadPlan::Method::kChunked);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0], (ByteRange{0, 32 * kMiB}));
  EXPECT_EQ(p.chunks[1], (ByteRange{32 * kMiB, 15 * kMiB + 5}));
  EXPECT_EQ(p.chunks[0].content_range(), "0-33554431");
  EXPECT_EQ(p.chunks[1].content_range(), "33554432-49283076");

  p = plan_upload(10, 3);
  ASSERT_EQ(p.chunks.size(), 4u);
  int64_t next = 0;
  for (const auto& c : p.chunks) {
    EXPECT_EQ(c.offset, next);
    next += c.size;
  }
  EXPECT_EQ(next, 10);
  EXPECT_EQ(p.chunks.back(), (ByteRange{9, 1}));
  EXPECT_EQ(p.chunks.back().content_range(), "9-9");
}

TEST(UploadPlan, RegistryMinimumChunkRaisesTheChunkSize) {
  auto p = plan_upload(10 * kMiB, 1 * kMiB, 4 * kMiB);
  ASSERT_EQ(p.method, UploadPlan::Method::kChunked);
  ASSERT_EQ(p.chunks.size(), 3u);
  EXPECT_EQ(p.chunks[0].size, 4 * kMiB);
  EXPECT_EQ(plan_upload(3 * kMiB, 1 * kMiB, 4 * kMiB).method, UploadPlan::Method::kMonolithic);
}

TEST(UploadPlan, ZeroChunkSizeNeverChunks) {
  EXPECT_EQ(plan_upload(int64_t{1} << 40, 0).method, UploadPlan::Method::kMonolithic);
}

std::string digest_of(char c) {
  return sha256_digest(std::string(1, c));
}

TEST(PushManifest, OciManifestIsPushedByteForByte) {
  std::string text = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1}},)"
      R"("layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":2}},)"
      R"({{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":3}},)"
      R"({{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":2}}]}})",
      digest_of('c'), digest_of('a'), digest_of('b'), digest_of('a'));
  auto p = manifest_for_push(text);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->body, text);
  EXPECT_EQ(p->media_type, "application/vnd.oci.image.manifest.v1+json");
  ASSERT_EQ(p->blobs.size(), 3u) << "a repeated layer is sent once";
  EXPECT_EQ(p->blobs[0].digest, digest_of('a'));
  EXPECT_EQ(p->blobs[1].digest, digest_of('b'));
  EXPECT_EQ(p->blobs[2].digest, digest_of('c')) << "the config goes last";
}

TEST(PushManifest, DockerManifestIsWrittenAsOci) {
  std::string text = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":1}},)"
      R"("layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{}","size":2}}]}})",
      digest_of('c'), digest_of('a'));
  auto p = manifest_for_push(text);
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->media_type, "application/vnd.oci.image.manifest.v1+json");
  auto m = parse_manifest(p->body);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m->config.media_type, "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m->config.digest, digest_of('c'));
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(m->layers[0].digest, digest_of('a'));
}

TEST(PushManifest, ForeignLayersCannotBePushed) {
  std::string text = fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":1}},)"
      R"("layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{}","size":2}}]}})",
      digest_of('c'), digest_of('a'));
  auto p = manifest_for_push(text);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find(digest_of('a')), std::string::npos) << p.error().message();
}

TEST(BlobLocations, MountCandidatesAreOtherReposOfTheSameRegistryNewestFirst) {
  BlobLocationIndex index;
  std::string d = digest_of('x');
  record_blob_location(index, d, "reg:5000", "team/base", 100);
  record_blob_location(index, d, "reg:5000", "team/app", 300);
  record_blob_location(index, d, "reg:5000", "other", 200);
  record_blob_location(index, d, "elsewhere.io", "team/base", 400);
  EXPECT_EQ(mount_candidates(index, d, "reg:5000", "team/app"),
            (std::vector<std::string>{"other", "team/base"}));
  EXPECT_EQ(mount_candidates(index, digest_of('y'), "reg:5000", "team/app"),
            std::vector<std::string>{});
  EXPECT_EQ(mount_candidates(index, d, "reg:500", "x"), std::vector<std::string>{})
      << "a registry is matched whole, not by prefix";
}

TEST(BlobLocations, BoundedPerBlobAndInTotal) {
  BlobLocationIndex index;
  std::string d = digest_of('x');
  for (int i = 0; i < 20; ++i) record_blob_location(index, d, "r", fmt::format("repo{}", i), i);
  EXPECT_EQ(index.blobs[d].size(), kMaxLocationsPerBlob);
  EXPECT_TRUE(index.blobs[d].contains("r/repo19"));
  EXPECT_FALSE(index.blobs[d].contains("r/repo0"));

  for (char c = 'a'; c <= 'e'; ++c) record_blob_location(index, digest_of(c), "r", "x", 100 + c);
  trim_blob_locations(index, 3);
  EXPECT_EQ(index.blobs.size(), 3u);
  EXPECT_TRUE(index.blobs.contains(digest_of('e')));
  EXPECT_FALSE(index.blobs.contains(d)) << "seen longest ago";
}

TEST(BlobLocations, JsonRoundTrip) {
  BlobLocationIndex index;
  record_blob_location(index, digest_of('x'), "reg:5000", "app", 42);
  auto back = parse_blob_locations(to_json(index));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->blobs, index.blobs);
  EXPECT_FALSE(parse_blob_locations(R"({"notadigest":{}})"));
  EXPECT_FALSE(parse_blob_locations("[]"));
}

}  // namespace
}  // namespace slipway::oci
