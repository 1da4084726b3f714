// Image reference parsing and normalization.
#include <gtest/gtest.h>

#include "oci/reference.h"

namespace slipway::oci {
namespace {

constexpr char kDigest[] =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

Reference parse_ok(std::string_view text) {
  auto r = parse_reference(text);
  EXPECT_TRUE(r) << text << ": " << r.error().message();
  return r ? *r : Reference{};
}

TEST(Reference, NameDefaultsToLatest) {
  auto r = parse_ok("busybox");
  EXPECT_EQ(r.name, "busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.str(), "busybox:latest");
}

TEST(Reference, TagsRegistriesAndPorts) {
  auto r = parse_ok("registry.local:5000/team/app:v1.2-rc_3");
  EXPECT_EQ(r.name, "registry.local:5000/team/app");
  EXPECT_EQ(r.tag, "v1.2-rc_3");
  r = parse_ok("localhost/app");
  EXPECT_EQ(r.name, "localhost/app");
  EXPECT_EQ(r.tag, "latest");
  r = parse_ok("a.b/c__d/e-f--g/h.i:T");
  EXPECT_EQ(r.name, "a.b/c__d/e-f--g/h.i");
  EXPECT_EQ(r.tag, "T");
}

TEST(Reference, DockerHubPrefixesAreDropped) {
  EXPECT_EQ(parse_ok("docker.io/library/busybox:1.36").name_tag(), "busybox:1.36");
  EXPECT_EQ(parse_ok("docker.io/bitnami/redis").name_tag(), "bitnami/redis:latest");
  EXPECT_EQ(parse_ok("index.docker.io/library/alpine").name, "alpine");
  // Only Docker Hub's library is implicit.
  EXPECT_EQ(parse_ok("quay.io/library/alpine").name, "quay.io/library/alpine");
  EXPECT_EQ(normalize_name("docker.io/library/a/b"), "library/a/b");
}

TEST(Reference, Digests) {
  auto r = parse_ok(std::string("busybox@") + kDigest);
  EXPECT_EQ(r.name, "busybox");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, kDigest);
  EXPECT_EQ(r.str(), std::string("busybox@") + kDigest);
  r = parse_ok(std::string("busybox:1@") + kDigest);
  EXPECT_EQ(r.tag, "1");
  EXPECT_EQ(r.str(), std::string("busybox:1@") + kDigest);
}

TEST(Reference, RejectsBadReferencesWithAReason) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "empty"},
      {"BusyBox", "must be lowercase"},
      {"busybox:", "bad tag"},
      {"busybox:-x", "bad tag"},
      {"busy..box", "bad name component"},
      {"a//b", "bad name component"},
      {"-a", "bad name component"},
      {"a_", "bad name component"},
      {"busybox@sha256:123", "invalid digest"},
      {"bad_host:5000x/app", "bad registry host"},
      {"my-host:x/app", "bad registry host"},
  };
  for (const auto& c : cases) {
    auto r = parse_reference(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message().find(c.reason), std::string::npos)
        << c.text << ": " << r.error().message();
  }
  std::string long_tag(129, 't');
  EXPECT_FALSE(parse_reference("a:" + long_tag));
  EXPECT_FALSE(parse_reference(std::string(256, 'a')));
}

TEST(Reference, TagGrammar) {
  EXPECT_TRUE(is_valid_tag("latest"));
  EXPECT_TRUE(is_valid_tag("_x.Y-1"));
  EXPECT_FALSE(is_valid_tag(".x"));
  EXPECT_FALSE(is_valid_tag("a/b"));
  EXPECT_FALSE(is_valid_tag(""));
}

}  // namespace
}  // namespace slipway::oci
