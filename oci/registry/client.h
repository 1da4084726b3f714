// The OCI distribution API for one repository of one registry: blob HEAD, cross-repository
// mount, monolithic and chunked uploads, manifest PUT and GET, blob GET. Answers 401 challenges
// with Basic or Bearer auth (one token per scope set, fetched again when the registry rejects
// it), and retries what the RetryPolicy allows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/registry/auth.h"
#include "oci/registry/credentials.h"
#include "oci/registry/http.h"
#include "oci/registry/retry.h"
#include "oci/registry/upload_plan.h"

namespace slipway::oci {

struct RegistryOptions {
  // Plain HTTP instead of HTTPS. Loopback registries get it anyway, as in Docker.
  bool plain_http = false;
  // --creds; when unset, the registry's entry in Docker's config.json, if any.
  std::optional<Credentials> credentials;
  RetryPolicy retry;
  HttpTimeouts timeouts;
};

struct FetchedManifest {
  std::string media_type;  // Content-Type without parameters
  std::string digest;      // sha256 of body, checked against Docker-Content-Digest
  std::string body;
};

class RegistryClient {
 public:
  struct Stats {
    int requests = 0;  // HTTP requests sent, token requests included
    int blob_heads = 0;
    int blob_uploads = 0;  // blobs sent (not chunks)
    int mounts = 0;        // blobs mounted from another repository
    int retries = 0;
    int token_fetches = 0;
  };

  // A client for registry/repository; actions is the bearer scope it needs there ("pull" or
  // "pull,push"). Sends nothing yet.
  static Result<RegistryClient> create(std::string registry, std::string repository,
                                       std::string actions, RegistryOptions options);

  // A client of the same repository with this one's credentials and tokens (so it answers no
  // challenge this one already did) and a connection of its own, for use from another thread.
  Result<RegistryClient> fork() const;
  // Adds another client's counts to this one's.
  void add_stats(const Stats& other);

  // "http://127.0.0.1:5000/v2/<repository>".
  const std::string& repository_url() const { return repo_url_; }
  const Stats& stats() const { return stats_; }

  // HEAD: the blob's size when the repository has it, nullopt when not.
  Result<std::optional<int64_t>> blob_size(std::string_view digest);
  // Mounts a blob from another repository of this registry; false when the registry did not
  // (then the upload session it opened instead is used by the next upload_blob).
  Result<bool> mount_blob(std::string_view digest, std::string_view from_repository);
  // Uploads size bytes of fd from offset 0 as digest: one PUT when size <= chunk_size, else
  // PATCH chunks of chunk_size and a closing PUT. A failed attempt is retried in a new session.
  Status upload_blob(std::string_view digest, int fd, int64_t size, int64_t chunk_size,
                     const std::function<void(int64_t)>& progress = {});
  // PUT with the manifest's exact media type as Content-Type; returns the manifest digest.
  Result<std::string> put_manifest(std::string_view reference, std::string_view media_type,
                                   std::string_view body);
  // GET /v2/ with the client's credentials: succeeds when the registry accepts them (`login`).
  // Create the client with an empty repository.
  Status check_login();
  // GET by tag or digest, accepting OCI and Docker v2 manifests and indexes.
  Result<FetchedManifest> get_manifest(std::string_view reference);
  // Streams a blob into sink. Before a retry, restart is called: the sink starts over.
  Status get_blob(std::string_view digest, const std::function<Status(std::string_view)>& sink,
                  const std::function<Status()>& restart,
                  const std::function<void(int64_t)>& progress = {});

 private:
  struct Failure {
    explicit Failure(Error e, bool transient_ = false,
                     std::optional<std::chrono::seconds> retry_after_ = std::nullopt)
        : error(std::move(e)), transient(transient_), retry_after(retry_after_) {}
    Error error;
    bool transient;
    std::optional<std::chrono::seconds> retry_after;
  };
  using Exchange = std::expected<HttpResponse, Failure>;

  RegistryClient(HttpSession http, std::string registry, std::string repository,
                 std::string actions, RegistryOptions options);

  // One request, answering a 401 challenge once. Any HTTP status comes back as a response.
  Exchange exchange(const HttpRequest& request, const std::vector<std::string>& extra_scopes);
  // exchange, tried again on transient failures and retryable statuses as the policy allows.
  Result<HttpResponse> send(const HttpRequest& request,
                            const std::vector<std::string>& extra_scopes = {},
                            const std::function<Status()>& restart = {});
  Status authorize(HttpRequest& request, const std::vector<std::string>& scopes);
  Status answer_challenge(const HttpResponse& response, std::vector<std::string>& scopes,
                          bool sent_authorization);
  Status fetch_token(const std::vector<std::string>& scopes);
  Result<std::string> start_upload();
  // One whole upload in one session; transient failures may be retried in a new session.
  std::expected<void, Failure> upload_once(std::string_view digest, int fd, int64_t size,
                                           int64_t chunk_size,
                                           const std::function<void(int64_t)>& progress);
  Failure unexpected_status(const HttpResponse& r, std::string_view what) const;
  std::string unauthorized_hint() const;
  void sleep_before_retry(int attempt, std::optional<std::chrono::seconds> retry_after);

  enum class Scheme { kNone, kBasic, kBearer };

  HttpSession http_;
  std::string registry_, repository_, actions_, repo_url_;
  RegistryOptions options_;
  Scheme scheme_ = Scheme::kNone;
  AuthChallenge bearer_;  // realm and service of the last bearer challenge
  TokenCache tokens_;
  std::optional<std::string> pending_upload_;  // a session a failed mount opened
  int64_t min_chunk_ = 0;                      // OCI-Chunk-Min-Length
  Stats stats_;
};

// One line from a registry's error response: `{"errors":[{"code":"MANIFEST_UNKNOWN",...}]}`
// gives "manifest unknown"; a body without that shape gives "HTTP 502" and its first line.
std::string describe_registry_error(long status, std::string_view body);

}  // namespace slipway::oci
