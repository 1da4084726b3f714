// Credentials from --creds-file text and from Docker's config.json: `auths`, and which credential
// helper (credHelpers, credsStore) holds a registry's secret.
#include "oci/registry/credentials.h"
#include "oci/registry/credential_helper.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/fs.h"

namespace slipway::oci {
namespace {

std::optional<Credentials> find_ok(std::string_view json, std::string_view registry) {
  auto r = find_docker_credentials(json, registry);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::nullopt;
}

TEST(Creds, UserColonPassword) {
  auto c = parse_creds("alice:pa:ss");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "pa:ss");
  c = parse_creds("bob:");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "");
  EXPECT_FALSE(parse_creds("nocolon"));
  EXPECT_FALSE(parse_creds(":pass"));
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", "user:pass",
                                                std::string("\0\xff", 2)}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("a*b="));
}

TEST(DockerConfig, AuthFieldByHostKey) {
  auto c = find_ok(R"({"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"}}})", "127.0.0.1:5000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->password, "pass");
  EXPECT_FALSE(
      find_ok(R"({"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"}}})", "127.0.0.1:5001"));
}

TEST(DockerConfig, UsernameAndPasswordFields) {
  auto c = find_ok(R"({"auths":{"reg.example":{"username":"u","password":"p"}}})", "reg.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->password, "p");
}

TEST(DockerConfig, KeysWithSchemeAndPath) {
  std::string json = R"({"auths":{
    "https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},
    "http://127.0.0.1:5000/v2/":{"auth":"bG9jYWw6bG9jYWxwYXNz"}}})";
  auto hub = find_ok(json, "docker.io");
  ASSERT_TRUE(hub);
  EXPECT_EQ(hub->username, "hub");
  EXPECT_EQ(hub->password, "hubpass");
  auto local = find_ok(json, "127.0.0.1:5000");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->username, "local");
  EXPECT_FALSE(find_ok(json, "127.0.0.1"));
}

TEST(DockerConfig, ExactKeyWins) {
  auto c = find_ok(R"({"auths":{"https://reg.example/v1/":{"auth":"YTpi"},
                               "reg.example":{"auth":"Yzpk"}}})",
                   "reg.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "c");
}

TEST(DockerConfig, NoAuthsOrHelperOnlyEntriesMeanNone) {
  EXPECT_FALSE(find_ok("{}", "reg.example"));
  EXPECT_FALSE(find_ok(R"({"auths":{"reg.example":{}},"credsStore":"desktop"})", "reg.example"));
}

TEST(DockerConfig, BrokenConfigsAreErrors) {
  EXPECT_FALSE(find_docker_credentials("not json", "r"));
  EXPECT_FALSE(find_docker_credentials(R"({"auths":[]})", "r"));
  auto r = find_docker_credentials(R"({"auths":{"r":{"auth":"!!!!"}}})", "r");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("'r'"), std::string::npos) << r.error().message();
  EXPECT_FALSE(find_docker_credentials(R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})", "r"))
      << "base64 of a string without ':'";
}

TEST(DockerConfig, LoadsFromDockerConfigDir) {
  char dir[] = "/tmp/slipway-dockercfg.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  ::setenv("DOCKER_CONFIG", dir, 1);
  EXPECT_EQ(docker_config_path(), std::string(dir) + "/config.json");
  auto none = load_docker_credentials("reg.example");
  ASSERT_TRUE(none) << "a missing file is no credentials";
  EXPECT_FALSE(*none);
  ASSERT_TRUE(fs::write_file(std::string(dir) + "/config.json",
                             R"({"auths":{"reg.example":{"auth":"dXNlcjpwYXNz"}}})"));
  auto c = load_docker_credentials("reg.example");
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->username, "user");
  ASSERT_TRUE(fs::write_file(std::string(dir) + "/config.json", "{oops"));
  auto broken = load_docker_credentials("reg.example");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message().find("config.json"), std::string::npos);
  ::unsetenv("DOCKER_CONFIG");
  (void)fs::remove_tree(dir);
}

std::optional<std::string> helper_ok(std::string_view json, std::string_view registry) {
  auto r = credential_helper_for(json, registry);
  EXPECT_TRUE(r) << r.error().message();
  return r ? *r : std::nullopt;
}

TEST(CredentialHelpers, APerRegistryHelperWinsOverTheStore) {
  std::string_view config = R"({"credsStore": "desktop", "credHelpers": {"ghcr.io": "gh",
      "https://index.docker.io/v1/": "hub"}, "auths": {"ghcr.io": {}}})";
  EXPECT_EQ(helper_ok(config, "ghcr.io"), "gh");
  EXPECT_EQ(helper_ok(config, "docker.io"), "hub");
  EXPECT_EQ(helper_ok(config, "127.0.0.1:5000"), "desktop");
  EXPECT_EQ(helper_ok(R"({"auths": {}})", "ghcr.io"), std::nullopt);
  EXPECT_EQ(helper_ok(R"({"credsStore": ""})", "ghcr.io"), std::nullopt);
  EXPECT_FALSE(credential_helper_for(R"({"credHelpers": []})", "ghcr.io"));
  EXPECT_FALSE(credential_helper_for(R"({"credsStore": 3})", "ghcr.io"));
}

TEST(CredentialHelpers, DockerHubIsKeyedByItsV1Url) {
  EXPECT_EQ(helper_server_url("docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(helper_server_url("registry-1.docker.io"), "https://index.docker.io/v1/");
  EXPECT_EQ(helper_server_url("127.0.0.1:5000"), "127.0.0.1:5000");
}

TEST(CredentialHelpers, AHelperNameCannotBeAPath) {
  auto r = helper_get("../../bin/sh", "ghcr.io");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "credential helper name \"../../bin/sh\" is not valid");
}

}  // namespace
}  // namespace slipway::oci
