// RegistryClient against a scripted HTTP server on 127.0.0.1: bearer and basic auth, token
// caching and refresh, retries (and their bound), uploads (one PUT, PATCH chunks, mounts),
// manifest and blob GETs with their checks, and connection errors.
#include "oci/registry/client.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/fs.h"
#include "oci/digest.h"
#include "tests/support/fake_http_server.h"

namespace slipway::oci {
namespace {

using slipway::testing::FakeHttpServer;
using slipway::testing::FakeRequest;
using slipway::testing::FakeResponse;

RegistryOptions fast_options() {
  RegistryOptions o;
  o.retry.first_delay = std::chrono::milliseconds(1);
  o.retry.max_delay = std::chrono::milliseconds(5);
  o.timeouts.stall = std::chrono::seconds(5);
  return o;
}

RegistryClient make_client(const FakeHttpServer& server, RegistryOptions options = fast_options(),
                           std::string actions = "pull,push") {
  auto c = RegistryClient::create(server.host(), "team/app", std::move(actions), options);
  if (!c) ADD_FAILURE() << c.error().message();
  return std::move(*c);
}

std::string json_error(const std::string& code, const std::string& message) {
  return fmt::format(R"({{"errors":[{{"code":"{}","message":"{}"}}]}})", code, message);
}

class RegistryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The host's own Docker credentials must not leak into these tests.
    char dir[] = "/tmp/slipway-registry-client.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    ::setenv("DOCKER_CONFIG", dir, 1);
  }
  void TearDown() override {
    ::unsetenv("DOCKER_CONFIG");
    (void)fs::remove_tree(dir_);
  }
  // A file with `data` to upload from.
  int file_with(const std::string& data) {
    std::string path = dir_ + "/blob";
    EXPECT_TRUE(fs::write_file(path, data));
    fd_ = *fs::open_file(path, O_RDONLY);
    return fd_.get();
  }
  std::string dir_;
  UniqueFd fd_;
};

TEST_F(RegistryClientTest, HeadSaysWhetherABlobIsThere) {
  std::string d = sha256_digest("x");
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.target == "/v2/team/app/blobs/" + d) return {200, {{"Content-Length", "1234"}}, ""};
    return {404, {}, ""};
  });
  auto client = make_client(server);
  auto there = client.blob_size(d);
  ASSERT_TRUE(there) << there.error().message();
  EXPECT_EQ(*there, 1234);
  auto missing = client.blob_size(sha256_digest("y"));
  ASSERT_TRUE(missing) << missing.error().message();
  EXPECT_EQ(*missing, std::nullopt);
  EXPECT_EQ(server.count("HEAD", "/v2/team/app/blobs/"), 2);
  EXPECT_EQ(server.connections(), 1) << "requests share one kept-alive connection";
}

TEST_F(RegistryClientTest, BearerTokenIsFetchedOnceAndReusedPerScope) {
  int tokens = 0;
  FakeHttpServer* self = nullptr;
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.target.starts_with("/token")) {
      ++tokens;
      EXPECT_EQ(r.header("authorization"), "Basic dXNlcjpwYXNz");
      return {200, {}, R"({"token":"tok-)" + std::to_string(tokens) + R"(","expires_in":300})"};
    }
    if (r.header("authorization") != "Bearer tok-1")
      return {401,
              {{"WWW-Authenticate",
                fmt::format(R"(Bearer realm="http://{}/token",service="fake")", self->host())}},
              json_error("UNAUTHORIZED", "authentication required")};
    return {404, {}, ""};
  });
  self = &server;
  auto options = fast_options();
  options.credentials = Credentials{"user", "pass"};
  auto client = make_client(server, options);
  for (int i = 0; i < 3; ++i) {
    auto r = client.blob_size(sha256_digest(std::to_string(i)));
    ASSERT_TRUE(r) << r.error().message();
  }
  EXPECT_EQ(tokens, 1);
  auto token_requests = server.count("GET", "/token");
  ASSERT_EQ(token_requests, 1);
  for (const auto& r : server.requests()) {
    if (r.target.starts_with("/token")) {
      EXPECT_EQ(r.target, "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull%2Cpush");
    }
  }
  EXPECT_EQ(server.count("HEAD", "/v2/"), 4) << "one 401, then three with the token";
  EXPECT_EQ(client.stats().token_fetches, 1);
}

TEST_F(RegistryClientTest, RejectedTokenIsRefreshedOnce) {
  // The registry stops accepting token 1 half way, as when a token expires during a long push.
  int tokens = 0;
  std::atomic<int> accepted{1};
  FakeHttpServer* self = nullptr;
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.target.starts_with("/token"))
      return {200, {}, R"({"token":"tok-)" + std::to_string(++tokens) + R"("})"};
    if (r.header("authorization") != "Bearer tok-" + std::to_string(accepted.load()))
      return {
          401,
          {{"WWW-Authenticate", fmt::format(R"(Bearer realm="http://{}/token")", self->host())}},
          ""};
    return {200, {{"Content-Length", "1"}}, ""};
  });
  self = &server;
  auto client = make_client(server);
  ASSERT_TRUE(client.blob_size(sha256_digest("a")));
  accepted = 2;
  auto r = client.blob_size(sha256_digest("b"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(tokens, 2);
  EXPECT_EQ(client.stats().token_fetches, 2);
}

TEST_F(RegistryClientTest, BasicAuthAfterChallengeAndWrongPasswordIsUnauthorized) {
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.header("authorization") == "Basic dXNlcjpwYXNz") return {404, {}, ""};
    return {401,
            {{"WWW-Authenticate", R"(Basic realm="basic-realm")"}},
            json_error("UNAUTHORIZED", "authentication required")};
  });
  auto options = fast_options();
  options.credentials = Credentials{"user", "pass"};
  auto good = make_client(server, options);
  ASSERT_TRUE(good.blob_size(sha256_digest("a")));
  ASSERT_TRUE(good.blob_size(sha256_digest("b")));
  EXPECT_EQ(server.requests().size(), 3u) << "credentials are sent without a new challenge";

  options.credentials = Credentials{"user", "wrong"};
  auto bad = make_client(server, options);
  auto r = bad.blob_size(sha256_digest("a"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "unauthorized: authentication required (as user user)");

  auto anonymous = make_client(server);
  r = anonymous.blob_size(sha256_digest("a"));
  ASSERT_FALSE(r);
  EXPECT_TRUE(
      r.error().message().starts_with("unauthorized: authentication required (no "
                                      "credentials for 127.0.0.1:"))
      << r.error().message();
}

TEST_F(RegistryClientTest, ServerErrorsAreRetriedWithBackoffUntilTheyPass) {
  int calls = 0;
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    ++calls;
    if (calls == 1) return {503, {}, "busy"};
    if (calls == 2) return {429, {{"Retry-After", "0"}}, ""};
    return {200, {{"Content-Length", "7"}}, ""};
  });
  auto client = make_client(server);
  auto r = client.blob_size(sha256_digest("a"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(**r, 7);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(client.stats().retries, 2);
}

TEST_F(RegistryClientTest, RetriesAreBounded) {
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    return {500, {}, json_error("UNKNOWN", "storage backend down")};
  });
  auto client = make_client(server);
  auto r = client.get_manifest("latest");
  ASSERT_FALSE(r);
  EXPECT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(r.error().message(), "manifest latest: unknown: storage backend down");
}

TEST_F(RegistryClientTest, ClientErrorsAreNotRetried) {
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    return {404, {}, json_error("MANIFEST_UNKNOWN", "manifest unknown")};
  });
  auto client = make_client(server);
  auto r = client.get_manifest("nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "manifest nope: manifest unknown");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(RegistryClientTest, DroppedConnectionsAreRetried) {
  int calls = 0;
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    if (++calls < 3) return {0, {}, "", /*drop=*/true};
    return {200,
            {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}},
            R"({"schemaVersion":2})"};
  });
  auto client = make_client(server);
  auto r = client.get_manifest("latest");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(r->digest, sha256_digest(R"({"schemaVersion":2})"));
  EXPECT_EQ(calls, 3);
}

TEST_F(RegistryClientTest, ManifestGetAcceptsAllFourTypesAndChecksTheDigest) {
  std::string body = R"({"schemaVersion":2,"manifests":[]})";
  std::string claimed = sha256_digest("something else");
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    return {200,
            {{"Content-Type", "application/vnd.oci.image.index.v1+json; charset=utf-8"},
             {"Docker-Content-Digest", claimed}},
            body};
  });
  auto client = make_client(server);
  auto r = client.get_manifest("v1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(claimed), std::string::npos) << r.error().message();
  std::string accept = server.requests().at(0).header("accept");
  for (const char* t :
       {"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json"})
    EXPECT_NE(accept.find(t), std::string::npos) << t;
  claimed = sha256_digest(body);
  r = client.get_manifest("v1");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->media_type, "application/vnd.oci.image.index.v1+json");
}

// A registry that keeps uploads in memory and checks them as docker-registry does.
struct UploadRegistry {
  std::mutex mu;
  std::map<std::string, std::string> sessions;  // id -> bytes so far
  std::map<std::string, std::string> blobs;     // digest -> content
  int next = 0;

  FakeResponse handle(const FakeRequest& r) {
    std::lock_guard lock(mu);
    const std::string uploads = "/v2/team/app/blobs/uploads/";
    if (r.method == "POST" && r.target == uploads) {
      std::string id = std::to_string(++next);
      sessions[id];
      return {202, {{"Location", uploads + id + "?_state=s" + id}}, ""};
    }
    if (!r.target.starts_with(uploads)) return {404, {}, ""};
    std::string rest = r.target.substr(uploads.size());
    std::string id = rest.substr(0, rest.find('?'));
    if (!sessions.contains(id)) return {404, {}, json_error("BLOB_UPLOAD_UNKNOWN", "gone")};
    std::string& data = sessions[id];
    if (r.method == "PATCH") {
      std::string range = r.header("content-range");
      auto dash = range.find('-');
      if (std::stoul(range.substr(0, dash)) != data.size() ||
          std::stoul(range.substr(dash + 1)) != data.size() + r.body.size() - 1)
        return {416, {}, json_error("BLOB_UPLOAD_INVALID", "bad range " + range)};
      data += r.body;
      return {202, {{"Location", uploads + id + "?_state=p" + std::to_string(data.size())}}, ""};
    }
    if (r.method == "PUT") {
      data += r.body;
      auto q = r.target.find("digest=");
      std::string digest = r.target.substr(q + 7);
      if (auto amp = digest.find('&'); amp != std::string::npos) digest.resize(amp);
      for (const char* enc : {"%3A", "%3a"})
        if (auto at = digest.find(enc); at != std::string::npos) digest.replace(at, 3, ":");
      if (sha256_digest(data) != digest)
        return {400, {}, json_error("DIGEST_INVALID", "provided digest did not match")};
      blobs[digest] = data;
      sessions.erase(id);
      return {201, {{"Docker-Content-Digest", digest}}, ""};
    }
    if (r.method == "DELETE") {
      sessions.erase(id);
      return {204, {}, ""};
    }
    return {405, {}, ""};
  }
};

TEST_F(RegistryClientTest, SmallBlobGoesUpInOnePut) {
  UploadRegistry reg;
  FakeHttpServer server([&](const FakeRequest& r) { return reg.handle(r); });
  auto client = make_client(server);
  std::string data(100000, 'a');
  std::string digest = sha256_digest(data);
  int64_t last = 0;
  auto s = client.upload_blob(digest, file_with(data), static_cast<int64_t>(data.size()), 1 << 20,
                              [&](int64_t n) { last = n; });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(reg.blobs[digest], data);
  EXPECT_EQ(server.count("POST", "/v2/team/app/blobs/uploads/"), 1);
  EXPECT_EQ(server.count("PATCH", "/"), 0);
  EXPECT_EQ(server.count("PUT", "/v2/team/app/blobs/uploads/1?_state=s1&digest="), 1);
  EXPECT_EQ(last, static_cast<int64_t>(data.size()));
}

TEST_F(RegistryClientTest, LargeBlobGoesUpInChunksWithContentRange) {
  UploadRegistry reg;
  FakeHttpServer server([&](const FakeRequest& r) { return reg.handle(r); });
  auto client = make_client(server);
  std::string data;
  for (int i = 0; i < 2500; ++i) data += static_cast<char>('a' + i % 26);
  std::string digest = sha256_digest(data);
  auto s = client.upload_blob(digest, file_with(data), static_cast<int64_t>(data.size()), 1000);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(reg.blobs[digest], data);
  std::vector<std::string> ranges;
  for (const auto& r : server.requests())
    if (r.method == "PATCH") ranges.push_back(r.header("content-range"));
  EXPECT_EQ(ranges, (std::vector<std::string>{"0-999", "1000-1999", "2000-2499"}));
  // Each PATCH goes to the Location the previous answer gave.
  auto reqs = server.requests();
  EXPECT_EQ(reqs[1].target, "/v2/team/app/blobs/uploads/1?_state=s1");
  EXPECT_EQ(reqs[2].target, "/v2/team/app/blobs/uploads/1?_state=p1000");
  EXPECT_TRUE(reqs.back().target.starts_with("/v2/team/app/blobs/uploads/1?_state=p2500&digest="))
      << reqs.back().target;
  EXPECT_EQ(reqs.back().body, "");
}

TEST_F(RegistryClientTest, FailedUploadStartsOverInANewSession) {
  UploadRegistry reg;
  int patches = 0;
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.method == "PATCH" && ++patches == 2) return {0, {}, "", /*drop=*/true};
    return reg.handle(r);
  });
  auto client = make_client(server);
  std::string data(3000, 'z');
  std::string digest = sha256_digest(data);
  auto s = client.upload_blob(digest, file_with(data), 3000, 1000);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(reg.blobs[digest], data);
  EXPECT_EQ(server.count("POST", "/v2/team/app/blobs/uploads/"), 2);
  EXPECT_EQ(server.count("DELETE", "/v2/team/app/blobs/uploads/1"), 1)
      << "the broken session is cancelled";
}

TEST_F(RegistryClientTest, WrongDigestIsNotRetried) {
  UploadRegistry reg;
  FakeHttpServer server([&](const FakeRequest& r) { return reg.handle(r); });
  auto client = make_client(server);
  std::string digest = sha256_digest("not the content");
  auto s = client.upload_blob(digest, file_with("content"), 7, 1000);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), fmt::format("upload blob {}: finish upload: digest invalid: "
                                             "provided digest did not match",
                                             digest));
  EXPECT_EQ(server.count("POST", "/"), 1);
}

TEST_F(RegistryClientTest, MountFromAnotherRepository) {
  std::string d = sha256_digest("layer");
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.target == "/v2/team/app/blobs/uploads/?mount=" + url_escape(d) + "&from=team%2Fbase")
      return {201, {{"Docker-Content-Digest", d}}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/team/app/blobs/uploads/77"}}, ""};
    return {404, {}, ""};
  });
  auto client = make_client(server);
  auto m = client.mount_blob(d, "team/base");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(*m);
  m = client.mount_blob(d, "team/other");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_FALSE(*m);
  EXPECT_EQ(client.stats().mounts, 1);
}

TEST_F(RegistryClientTest, ManifestPutSendsItsMediaType) {
  std::string body = R"({"schemaVersion":2})";
  FakeHttpServer server([&](const FakeRequest& r) -> FakeResponse {
    EXPECT_EQ(r.header("content-type"), "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(r.body, body);
    return {201, {{"Docker-Content-Digest", sha256_digest(r.body)}}, ""};
  });
  auto client = make_client(server);
  auto d = client.put_manifest("v1", "application/vnd.oci.image.manifest.v1+json", body);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, sha256_digest(body));
  EXPECT_EQ(server.count("PUT", "/v2/team/app/manifests/v1"), 1);
}

TEST_F(RegistryClientTest, BlobGetStreamsAndStartsOverAfterADrop) {
  std::string data(200000, 'q');
  int calls = 0;
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    if (++calls == 1) return {502, {}, "bad gateway"};
    return {200, {}, data};
  });
  auto client = make_client(server);
  std::string got;
  int restarts = 0;
  auto s = client.get_blob(
      sha256_digest(data),
      [&](std::string_view chunk) -> Status {
        got.append(chunk);
        return {};
      },
      [&]() -> Status {
        ++restarts;
        got.clear();
        return {};
      });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(got, data);
  EXPECT_EQ(restarts, 1);
}

TEST_F(RegistryClientTest, SinkErrorStopsTheTransferWithoutRetry) {
  FakeHttpServer server([&](const FakeRequest&) -> FakeResponse {
    return {200, {}, std::string(100000, 'x')};
  });
  auto client = make_client(server);
  auto s = client.get_blob(
      sha256_digest("x"), [](std::string_view) -> Status { return fail("too much"); },
      []() -> Status { return {}; });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "too much");
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(RegistryClientTest, NothingListeningIsConnectionRefusedAfterBoundedRetries) {
  int port;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeResponse{}; });
    port = gone.port();
  }
  auto c =
      RegistryClient::create(fmt::format("127.0.0.1:{}", port), "app", "pull,push", fast_options());
  ASSERT_TRUE(c);
  auto r = c->blob_size(sha256_digest("a"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "connect: Connection refused (after 4 attempts)");
  EXPECT_EQ(c->stats().retries, 3);
}

TEST(RegistryErrors, OneLineFromTheErrorBody) {
  EXPECT_EQ(describe_registry_error(404, json_error("MANIFEST_UNKNOWN", "manifest unknown")),
            "manifest unknown");
  EXPECT_EQ(describe_registry_error(401, json_error("UNAUTHORIZED", "authentication required")),
            "unauthorized: authentication required");
  EXPECT_EQ(describe_registry_error(400, R"({"errors":[{"code":"A_B"},{"message":"m"}]})"),
            "a b; m");
  EXPECT_EQ(describe_registry_error(502, "<html>\nbad"), "HTTP 502: <html>");
  EXPECT_EQ(describe_registry_error(404, ""), "not found");
  EXPECT_EQ(describe_registry_error(418, ""), "HTTP 418");
}

}  // namespace
}  // namespace slipway::oci
