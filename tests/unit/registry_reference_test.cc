// Registry references: host[:port]/repo[:tag|@digest], Docker Hub defaults, loopback detection.
#include "oci/registry/reference.h"

#include <gtest/gtest.h>

namespace slipway::oci {
namespace {

constexpr char kDigest[] =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

RegistryReference parse_ok(std::string_view text) {
  auto r = parse_registry_reference(text);
  EXPECT_TRUE(r) << text << ": " << r.error().message();
  return r ? *r : RegistryReference{};
}

TEST(RegistryReference, HostPortRepoAndTag) {
  auto r = parse_ok("127.0.0.1:5000/team/app:v1.2");
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.tag, "v1.2");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.api_host(), "127.0.0.1:5000");
  EXPECT_EQ(r.manifest_ref(), "v1.2");
  EXPECT_EQ(r.name(), "127.0.0.1:5000/team/app");
  EXPECT_EQ(r.str(), "127.0.0.1:5000/team/app:v1.2");
}

TEST(RegistryReference, TagDefaultsToLatest) {
  auto r = parse_ok("registry.example.com/app");
  EXPECT_EQ(r.registry, "registry.example.com");
  EXPECT_EQ(r.repository, "app");
  EXPECT_EQ(r.tag, "latest");
}

TEST(RegistryReference, DigestWinsAsManifestRef) {
  auto r = parse_ok(std::string("localhost:5000/app@") + kDigest);
  EXPECT_EQ(r.registry, "localhost:5000");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, kDigest);
  EXPECT_EQ(r.manifest_ref(), kDigest);
  EXPECT_EQ(r.str(), std::string("localhost:5000/app@") + kDigest);
  r = parse_ok(std::string("localhost:5000/app:1@") + kDigest);
  EXPECT_EQ(r.tag, "1");
  EXPECT_EQ(r.manifest_ref(), kDigest);
}

TEST(RegistryReference, LocalhostWithoutPortIsAHost) {
  auto r = parse_ok("localhost/app:2");
  EXPECT_EQ(r.registry, "localhost");
  EXPECT_EQ(r.repository, "app");
}

TEST(RegistryReference, DockerHubDefaults) {
  for (const char* text :
       {"busybox", "busybox:latest", "docker.io/busybox", "docker.io/library/busybox",
        "index.docker.io/library/busybox", "registry-1.docker.io/library/busybox:latest"}) {
    auto r = parse_ok(text);
    EXPECT_EQ(r.registry, "docker.io") << text;
    EXPECT_EQ(r.repository, "library/busybox") << text;
    EXPECT_EQ(r.tag, "latest") << text;
    EXPECT_EQ(r.api_host(), "registry-1.docker.io") << text;
    EXPECT_EQ(r.name(), "busybox") << text;
  }
  auto r = parse_ok("someone/tool:3");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "someone/tool");
  EXPECT_EQ(r.name(), "someone/tool");
  EXPECT_EQ(r.str(), "someone/tool:3");
}

TEST(RegistryReference, FirstPartWithoutDotOrPortIsARepositoryPart) {
  auto r = parse_ok("team/app");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "team/app");
}

TEST(RegistryReference, BadReferencesSayWhy) {
  auto bad = [](std::string_view text, std::string_view needle) {
    auto r = parse_registry_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
  };
  bad("", "empty");
  bad("127.0.0.1:5000/App", "lowercase");
  bad("127.0.0.1:5000/app:bad tag", "bad tag");
  bad("127.0.0.1:5000/app@sha256:123", "invalid digest");
  bad("127.0.0.1:5000/app@md5:abc", "unsupported digest algorithm");
  bad("-host:5000/app", "bad registry host");
}

TEST(RegistryReference, LoopbackRegistries) {
  for (const char* r : {"localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000",
                        "127.1.2.3:80", "::1", "[::1]:5000", "app.localhost:8080"})
    EXPECT_TRUE(is_loopback_registry(r)) << r;
  for (const char* r : {"docker.io", "10.0.0.1:5000", "128.0.0.1", "localhost.example.com",
                        "ghcr.io", "[2001:db8::1]:5000"})
    EXPECT_FALSE(is_loopback_registry(r)) << r;
}

}  // namespace
}  // namespace slipway::oci
