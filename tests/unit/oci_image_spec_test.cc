// Parsing of OCI and Docker manifests, indexes and configs; platform selection.
#include <gtest/gtest.h>

#include "oci/image_spec.h"

namespace slipway::oci {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

std::string oci_manifest() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kD1 +
         R"(","size":7},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         kD2 + R"(","size":100,"annotations":{"a":"b"}}]})";
}

TEST(ImageSpec, ParsesOciManifest) {
  auto m = parse_manifest(oci_manifest());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->config.digest, kD1);
  EXPECT_EQ(m->config.size, 7);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, kMediaTypeOciLayerGzip);
  EXPECT_EQ(m->layers[0].annotations.at("a"), "b");
}

TEST(ImageSpec, ParsesDockerV2Manifest) {
  std::string text = R"({"schemaVersion":2,
    "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":5,"digest":")" +
                     kD1 + R"("},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":9,
               "digest":")" +
                     kD2 + R"("}]})";
  auto m = parse_manifest(text);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, kMediaTypeDockerManifest);
  EXPECT_TRUE(is_config_media_type(m->config.media_type));
  EXPECT_TRUE(is_layer_media_type(m->layers[0].media_type));
}

TEST(ImageSpec, ManifestErrorsAreOneClearLine) {
  struct Case {
    std::string text;
    const char* reason;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[]", "not a JSON object"},
      {R"({"schemaVersion":1})", "schema 1 manifests are not supported"},
      {R"({"schemaVersion":2,"layers":[]})", "missing config"},
      {R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":1},"layers":{}})",
       "'layers' must be an array"},
      {R"({"schemaVersion":2,"config":{"digest":"sha256:abc","size":1},"layers":[]})",
       "invalid digest 'sha256:abc'"},
      {R"({"schemaVersion":2,"config":{"digest":")" + kD1 + R"(","size":-1},"layers":[]})",
       "non-negative integer size"},
      {R"({"schemaVersion":2,"config":{"digest":")" + kD1 +
           R"(","size":1,"mediaType":7},"layers":[]})",
       "'mediaType' must be a string"},
  };
  for (const auto& c : cases) {
    auto m = parse_manifest(c.text);
    ASSERT_FALSE(m) << c.text;
    EXPECT_NE(m.error().message().find(c.reason), std::string::npos)
        << c.text << " -> " << m.error().message();
    EXPECT_EQ(m.error().message().find('\n'), std::string::npos);
  }
}

TEST(ImageSpec, ParsesConfigWithDockerSetsAndNulls) {
  std::string text = R"({"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z",
    "config":{"User":"app","Env":["A=1","PATH=/bin"],"Entrypoint":null,"Cmd":["sh","-c","x"],
      "WorkingDir":"/srv","StopSignal":"SIGINT","Labels":{"k":"v"},
      "ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}}},
    "rootfs":{"type":"layers","diff_ids":[")" +
                     kD1 + R"(",")" + kD2 + R"("]}})";
  auto c = parse_config(text);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->platform.str(), "linux/amd64");
  EXPECT_EQ(c->created, "2024-01-02T03:04:05Z");
  EXPECT_EQ(c->config.user, "app");
  EXPECT_EQ(c->config.env, (std::vector<std::string>{"A=1", "PATH=/bin"}));
  EXPECT_TRUE(c->config.entrypoint.empty());
  EXPECT_EQ(c->config.cmd, (std::vector<std::string>{"sh", "-c", "x"}));
  EXPECT_EQ(c->config.working_dir, "/srv");
  EXPECT_EQ(c->config.stop_signal, "SIGINT");
  EXPECT_EQ(c->config.labels.at("k"), "v");
  EXPECT_EQ(c->config.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
  EXPECT_EQ(c->config.volumes, (std::vector<std::string>{"/data"}));
  EXPECT_EQ(c->diff_ids, (std::vector<std::string>{kD1, kD2}));
}

TEST(ImageSpec, ConfigErrors) {
  auto no_rootfs = parse_config(R"({"os":"linux"})");
  ASSERT_FALSE(no_rootfs);
  EXPECT_NE(no_rootfs.error().message().find("missing rootfs"), std::string::npos);
  auto bad_env = parse_config(R"({"config":{"Env":"A=1"},"rootfs":{"type":"layers"}})");
  ASSERT_FALSE(bad_env);
  EXPECT_NE(bad_env.error().message().find("'Env' must be an array of strings"), std::string::npos);
  auto bad_diff = parse_config(R"({"rootfs":{"type":"layers","diff_ids":["md5:x"]}})");
  ASSERT_FALSE(bad_diff);
  EXPECT_NE(bad_diff.error().message().find("md5"), std::string::npos);
}

Index index_of(std::vector<std::pair<std::string, std::optional<Platform>>> entries) {
  Index idx;
  for (auto& [digest, platform] : entries) {
    Descriptor d;
    d.media_type = std::string(kMediaTypeOciManifest);
    d.digest = digest;
    d.size = 1;
    d.platform = platform;
    idx.manifests.push_back(d);
  }
  return idx;
}

TEST(ImageSpec, SelectsTheHostPlatform) {
  Index idx = index_of({{kD1, Platform{"linux", "arm64", "v8"}},
                        {kD2, Platform{"linux", "amd64", ""}},
                        {kD3, Platform{"windows", "amd64", ""}}});
  auto d = select_manifest(idx, {"linux", "amd64", ""});
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->digest, kD2);
  auto arm = select_manifest(idx, {"linux", "arm64", "v8"});
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, kD1);
  auto none = select_manifest(idx, {"linux", "s390x", ""});
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("no image for linux/s390x"), std::string::npos);
  EXPECT_NE(none.error().message().find("linux/arm64/v8, linux/amd64, windows/amd64"),
            std::string::npos)
      << none.error().message();
}

TEST(ImageSpec, PrefersExactVariantAndSkipsAttestations) {
  Index idx = index_of({{kD1, Platform{"linux", "arm", "v6"}},
                        {kD2, Platform{"linux", "arm", "v7"}},
                        {kD3, Platform{"unknown", "unknown", ""}}});
  idx.manifests[2].annotations["vnd.docker.reference.type"] = "attestation-manifest";
  auto d = select_manifest(idx, {"linux", "arm", "v7"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->digest, kD2);
  Index only_attestation = index_of({{kD3, std::nullopt}});
  only_attestation.manifests[0].annotations["vnd.docker.reference.type"] = "attestation-manifest";
  EXPECT_FALSE(select_manifest(only_attestation, host_platform()));
}

TEST(ImageSpec, SingleManifestWithoutPlatformIsChosen) {
  auto d = select_manifest(index_of({{kD1, std::nullopt}}), host_platform());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->digest, kD1);
  EXPECT_FALSE(
      select_manifest(index_of({{kD1, std::nullopt}, {kD2, std::nullopt}}), host_platform()));
}

TEST(ImageSpec, DetectsDocumentKind) {
  EXPECT_EQ(*detect_document("{}", kMediaTypeDockerManifestList), DocumentKind::kIndex);
  EXPECT_EQ(*detect_document(oci_manifest(), ""), DocumentKind::kManifest);
  EXPECT_EQ(*detect_document(R"({"schemaVersion":2,"manifests":[]})", ""), DocumentKind::kIndex);
  EXPECT_FALSE(detect_document(R"({"schemaVersion":2})", ""));
  EXPECT_FALSE(detect_document("{}", "application/vnd.cncf.helm.chart.content.v1.tar+gzip"));
}

TEST(ImageSpec, ManifestAndIndexRoundTrip) {
  auto m = parse_manifest(oci_manifest());
  ASSERT_TRUE(m);
  auto again = parse_manifest(to_json(*m));
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(to_json(*again), to_json(*m));

  Index idx = index_of({{kD1, Platform{"linux", "amd64", ""}}});
  idx.manifests[0].annotations[std::string(kAnnotationRefName)] = "busybox:latest";
  auto parsed = parse_index(to_json(idx));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->media_type, kMediaTypeOciIndex);
  EXPECT_EQ(parsed->manifests[0].annotations.at(std::string(kAnnotationRefName)), "busybox:latest");
  EXPECT_EQ(parsed->manifests[0].platform->architecture, "amd64");
}

TEST(ImageSpec, LayerMediaTypes) {
  EXPECT_TRUE(is_layer_media_type(kMediaTypeOciLayer));
  EXPECT_TRUE(is_layer_media_type(kMediaTypeOciLayerZstd));
  EXPECT_TRUE(is_layer_media_type(kMediaTypeDockerLayer));
  EXPECT_FALSE(is_layer_media_type("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"));
  EXPECT_FALSE(is_layer_media_type(kMediaTypeOciConfig));
}

}  // namespace
}  // namespace slipway::oci
