// WWW-Authenticate parsing, the bearer token request and response, the token cache.
#include "oci/registry/auth.h"

#include <gtest/gtest.h>

namespace slipway::oci {
namespace {

std::vector<AuthChallenge> parse_ok(std::string_view header) {
  auto r = parse_www_authenticate(header);
  EXPECT_TRUE(r) << header << ": " << r.error().message();
  return r ? *r : std::vector<AuthChallenge>{};
}

TEST(WwwAuthenticate, DockerHubBearerChallenge) {
  auto c = parse_ok(R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
                    R"(scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:library/busybox:pull");
  EXPECT_EQ(c[0].param("missing"), "");
}

TEST(WwwAuthenticate, BasicChallengeAndCaseInsensitiveNames) {
  auto c = parse_ok(R"(BASIC Realm="basic-realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "basic-realm");
}

TEST(WwwAuthenticate, SeveralChallengesInOneValue) {
  auto c = parse_ok(R"(Basic realm="r1", Bearer realm="https://t/token", service=reg, )"
                    R"(error="insufficient_scope")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params.size(), 1u);
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].param("service"), "reg");
  EXPECT_EQ(c[1].param("error"), "insufficient_scope");
}

TEST(WwwAuthenticate, QuotedValuesKeepCommasAndEscapes) {
  auto c = parse_ok(R"(Bearer realm="https://t/token?a=1,b=2",scope="repository:a:pull,push" ,)"
                    R"( service = "say \"hi\"")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "https://t/token?a=1,b=2");
  EXPECT_EQ(c[0].param("scope"), "repository:a:pull,push");
  EXPECT_EQ(c[0].param("service"), R"(say "hi")");
}

TEST(WwwAuthenticate, SchemeWithoutParameters) {
  auto c = parse_ok("Negotiate, Basic realm=x");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "negotiate");
  EXPECT_TRUE(c[0].params.empty());
  EXPECT_EQ(c[1].param("realm"), "x");
}

TEST(WwwAuthenticate, MalformedValuesAreErrors) {
  EXPECT_FALSE(parse_www_authenticate(""));
  EXPECT_FALSE(parse_www_authenticate(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(parse_www_authenticate(R"(="x")"));
}

TEST(BearerToken, RequestUrlEscapesAndSortsScopes) {
  AuthChallenge c{"bearer", {{"realm", "https://auth.example/token"}, {"service", "my reg"}}};
  auto url = token_request_url(
      c, {"repository:team/app:pull,push", "repository:base:pull", "repository:base:pull"});
  ASSERT_TRUE(url) << url.error().message();
  EXPECT_EQ(*url,
            "https://auth.example/token?service=my%20reg"
            "&scope=repository%3Abase%3Apull&scope=repository%3Ateam%2Fapp%3Apull%2Cpush");
  c.params["realm"] = "https://auth.example/token?client=x";
  url = token_request_url(c, {});
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "https://auth.example/token?client=x&service=my%20reg");
}

TEST(BearerToken, RealmMustBeHttp) {
  AuthChallenge c{"bearer", {{"realm", "file:///etc/passwd"}}};
  EXPECT_FALSE(token_request_url(c, {}));
  c.params.clear();
  EXPECT_FALSE(token_request_url(c, {}));
}

TEST(BearerToken, ResponseFieldsAndDefaultLifetime) {
  auto now = Clock::now();
  auto t = parse_token_response(R"({"token":"abc","expires_in":300})", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, "abc");
  EXPECT_EQ(t->expires - now, std::chrono::seconds(300));
  t = parse_token_response(R"({"access_token":"xyz"})", now);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, "xyz");
  EXPECT_EQ(t->expires - now, std::chrono::seconds(60));
  EXPECT_FALSE(parse_token_response(R"({"token":""})", now));
  EXPECT_FALSE(parse_token_response("not json", now));
}

TEST(BearerToken, ScopeKeyIsOrderFree) {
  EXPECT_EQ(scope_key({"b", "a", "b"}), "a b");
  EXPECT_EQ(scope_key({"a", "b"}), scope_key({"b", "a"}));
  EXPECT_EQ(repository_scope("team/app", "pull,push"), "repository:team/app:pull,push");
}

TEST(TokenCache, TokensLapseBeforeTheyExpire) {
  TokenCache cache;
  auto now = Clock::now();
  cache.put("k", {"t1", now + std::chrono::seconds(60)});
  EXPECT_EQ(cache.get("k", now), "t1");
  EXPECT_EQ(cache.get("other", now), std::nullopt);
  EXPECT_EQ(cache.get("k", now + std::chrono::seconds(49)), "t1");
  EXPECT_EQ(cache.get("k", now + std::chrono::seconds(50)), std::nullopt) << "10 s margin";
  cache.drop("k");
  EXPECT_EQ(cache.get("k", now), std::nullopt);
}

TEST(BasicAuth, HeaderValue) {
  EXPECT_EQ(basic_authorization({"alice", "s3cret:x"}), "Basic YWxpY2U6czNjcmV0Ong=");
}

}  // namespace
}  // namespace slipway::oci
