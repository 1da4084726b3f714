// <root>/registries.json (Docker's daemon.json keys) and where a pull goes: mirrors first for
// Docker Hub images only, insecure registries over plain HTTP, one clear line for a bad file.
#include "oci/registry/config.h"

#include <gtest/gtest.h>

namespace slipway::oci {
namespace {

RegistryReference ref(std::string_view text) {
  auto r = parse_registry_reference(text);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : RegistryReference{};
}

TEST(RegistryConfig, ParsesDockersKeys) {
  auto c = parse_registry_config(
      R"({"registry-mirrors": ["https://mirror.example/", "http://127.0.0.1:5001"],
          "insecure-registries": ["reg.local:5000"]})",
      "registries.json");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->mirrors.size(), 2u);
  EXPECT_EQ(c->mirrors[0].host, "mirror.example");
  EXPECT_FALSE(c->mirrors[0].plain_http);
  EXPECT_EQ(c->mirrors[1].host, "127.0.0.1:5001");
  EXPECT_TRUE(c->mirrors[1].plain_http);
  EXPECT_TRUE(c->is_insecure("reg.local:5000"));
  EXPECT_FALSE(c->is_insecure("reg.local"));
}

TEST(RegistryConfig, BadFilesGetOneLineNamingTheFile) {
  auto error_of = [](std::string_view text) {
    auto c = parse_registry_config(text, "/r/registries.json");
    EXPECT_FALSE(c) << text;
    return c ? "" : c.error().message();
  };
  EXPECT_EQ(error_of("[]"), "/r/registries.json: a JSON object is expected");
  EXPECT_EQ(error_of(R"({"debug": true})"),
            "/r/registries.json: unknown key \"debug\" (registry-mirrors, insecure-registries)");
  EXPECT_EQ(error_of(R"({"insecure-registries": "a"})"),
            "/r/registries.json: \"insecure-registries\" must be a list of strings");
  EXPECT_EQ(error_of(R"({"registry-mirrors": ["https://m.example/v2/x"]})"),
            "/r/registries.json: registry mirror \"m.example/v2/x\": a URL of a registry's root is expected");
  EXPECT_NE(error_of("{").find("/r/registries.json: "), std::string::npos);
}

TEST(RegistryConfig, MirrorsServeOnlyDockerHubImagesAndComeFirst) {
  RegistryConfig c;
  c.mirrors = {{"mirror.example", false}, {"127.0.0.1:5001", true}};
  c.insecure = {"reg.local:5000"};
  auto hub = pull_sources(ref("busybox"), c);
  ASSERT_EQ(hub.size(), 3u);
  EXPECT_EQ(hub[0].ref.registry, "mirror.example");
  EXPECT_EQ(hub[0].ref.repository, "library/busybox");
  EXPECT_FALSE(hub[0].plain_http);
  EXPECT_EQ(hub[1].ref.registry, "127.0.0.1:5001");
  EXPECT_TRUE(hub[1].plain_http);
  EXPECT_EQ(hub[2].ref.registry, "docker.io");
  auto own = pull_sources(ref("reg.local:5000/team/app:1"), c);
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].ref.registry, "reg.local:5000");
  EXPECT_TRUE(own[0].plain_http);
  EXPECT_FALSE(pull_sources(ref("ghcr.io/x/y"), c)[0].plain_http);
}

}  // namespace
}  // namespace slipway::oci
