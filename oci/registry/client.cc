#include "oci/registry/client.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/log.h"
#include "oci/digest.h"
#include "oci/image_spec.h"
#include "oci/registry/reference.h"

namespace slipway::oci {

namespace {

constexpr std::string_view kOctetStream = "Content-Type: application/octet-stream";
// Bodies of error responses and token answers: small, whatever a server claims.
constexpr size_t kMaxSmallBody = 1 << 20;

std::string code_text(std::string code) {
  for (auto& c : code) c = c == '_' ? ' ' : static_cast<char>(std::tolower(c));
  return code;
}

std::string first_line(std::string_view body) {
  body = body.substr(0, body.find('\n'));
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
    body.remove_suffix(1);
  if (body.size() > 200) body = body.substr(0, 200);
  for (char c : body)
    if (!std::isprint(static_cast<unsigned char>(c))) return {};
  return std::string(body);
}

// "connect: Connection refused (after 4 attempts)": the cause first, as the user reads it.
Error with_attempts(Error e, int attempts) {
  return Error(e.code(), fmt::format("{} (after {} attempts)", e.message(), attempts));
}

std::string media_type_of(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return std::string(content_type);
}

}  // namespace

std::string describe_registry_error(long status, std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() &&
      !doc["errors"].empty()) {
    std::string out;
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      std::string code = e.value("code", std::string());
      std::string message = e.value("message", std::string());
      std::string text = code.empty() ? message : code_text(code);
      if (!code.empty() && !message.empty() && message != text) text += ": " + message;
      if (text.empty()) continue;
      if (!out.empty()) out += "; ";
      out += text;
    }
    if (!out.empty()) return out;
  }
  std::string line = first_line(body);
  if (!line.empty()) return fmt::format("HTTP {}: {}", status, line);
  switch (status) {
    case 401:
      return "authentication required";
    case 403:
      return "access denied";
    case 404:
      return "not found";
    case 429:
      return "too many requests";
    default:
      return fmt::format("HTTP {}", status);
  }
}

RegistryClient::RegistryClient(HttpSession http, std::string registry, std::string repository,
                               std::string actions, RegistryOptions options)
    : http_(std::move(http)),
      registry_(std::move(registry)),
      repository_(std::move(repository)),
      actions_(std::move(actions)),
      options_(std::move(options)) {
  RegistryReference ref{registry_, repository_, "", ""};
  bool plain = options_.plain_http || is_loopback_registry(registry_);
  repo_url_ = fmt::format("{}://{}/v2/{}", plain ? "http" : "https", ref.api_host(), repository_);
}

Result<RegistryClient> RegistryClient::fork() const {
  HttpSession http = SLW_TRY(HttpSession::create(options_.timeouts));
  RegistryClient copy(std::move(http), registry_, repository_, actions_, options_);
  copy.scheme_ = scheme_;
  copy.bearer_ = bearer_;
  copy.tokens_ = tokens_;
  copy.min_chunk_ = min_chunk_;
  return copy;
}

void RegistryClient::add_stats(const Stats& other) {
  stats_.requests += other.requests;
  stats_.blob_heads += other.blob_heads;
  stats_.blob_uploads += other.blob_uploads;
  stats_.mounts += other.mounts;
  stats_.retries += other.retries;
  stats_.token_fetches += other.token_fetches;
}

Result<RegistryClient> RegistryClient::create(std::string registry, std::string repository,
                                              std::string actions, RegistryOptions options) {
  if (!options.credentials) {
    auto stored = load_docker_credentials(registry);
    // A broken config.json only matters if the registry asks for credentials; say so then.
    if (!stored)
      log::warn("ignoring Docker credentials: {}", stored.error().message());
    else
      options.credentials = *stored;
  }
  HttpSession http = SLW_TRY(HttpSession::create(options.timeouts));
  return RegistryClient(std::move(http), std::move(registry), std::move(repository),
                        std::move(actions), std::move(options));
}

std::string RegistryClient::unauthorized_hint() const {
  if (options_.credentials) return fmt::format("as user {}", options_.credentials->username);
  return fmt::format("no credentials for {}: use slipway login or --creds-file", registry_);
}

Status RegistryClient::fetch_token(const std::vector<std::string>& scopes) {
  std::string key = scope_key(scopes);
  std::string url = SLW_TRY(token_request_url(bearer_, scopes));
  HttpRequest req;
  req.url = url;
  req.max_body = kMaxSmallBody;
  if (options_.credentials)
    req.headers.push_back("Authorization: " + basic_authorization(*options_.credentials));
  std::string realm = bearer_.param("realm");
  for (int attempt = 1;; ++attempt) {
    ++stats_.requests;
    ++stats_.token_fetches;
    auto r = http_.perform(req);
    if (!r) {
      if (options_.retry.retries_failure(r.error().kind) && attempt < options_.retry.max_attempts) {
        sleep_before_retry(attempt, std::nullopt);
        continue;
      }
      return std::unexpected(
          std::move(r.error().error).context(fmt::format("token from {}", realm)));
    }
    if (options_.retry.retries_status(r->status) && attempt < options_.retry.max_attempts) {
      sleep_before_retry(attempt, parse_retry_after(r->header("retry-after")));
      continue;
    }
    if (r->status == 401 || r->status == 403)
      return fail("unauthorized: token server {} refused a token ({})", realm, unauthorized_hint());
    if (r->status != 200)
      return fail("token from {}: {}", realm, describe_registry_error(r->status, r->body));
    BearerToken token =
        SLW_TRY(with_context(parse_token_response(r->body, Clock::now()), "token from " + realm));
    tokens_.put(key, std::move(token));
    return {};
  }
}

Status RegistryClient::authorize(HttpRequest& request, const std::vector<std::string>& scopes) {
  if (scheme_ == Scheme::kBasic && options_.credentials) {
    request.headers.push_back("Authorization: " + basic_authorization(*options_.credentials));
  } else if (scheme_ == Scheme::kBearer) {
    std::string key = scope_key(scopes);
    auto token = tokens_.get(key, Clock::now());
    if (!token) {
      SLW_TRY(fetch_token(scopes));
      token = tokens_.get(key, Clock::now());
      if (!token)
        return fail("token from {} expires before it can be used", bearer_.param("realm"));
    }
    request.headers.push_back("Authorization: Bearer " + *token);
  }
  return {};
}

Status RegistryClient::answer_challenge(const HttpResponse& response,
                                        std::vector<std::string>& scopes, bool sent_authorization) {
  std::vector<AuthChallenge> challenges;
  for (const auto& value : response.header_values("www-authenticate")) {
    auto parsed = parse_www_authenticate(value);
    if (!parsed) return std::unexpected(parsed.error());
    challenges.insert(challenges.end(), parsed->begin(), parsed->end());
  }
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  if (bearer) {
    scheme_ = Scheme::kBearer;
    bearer_ = *bearer;
    // The registry may name the scope it wants (e.g. with error="insufficient_scope").
    if (std::string s = bearer->param("scope"); !s.empty()) {
      size_t start = 0;
      while (start < s.size()) {
        size_t end = s.find(' ', start);
        if (end == std::string::npos) end = s.size();
        scopes.push_back(s.substr(start, end - start));
        start = end + 1;
      }
    }
    // A token we sent was refused (expired during a long push, or too narrow): get a new one.
    tokens_.drop(scope_key(scopes));
    return fetch_token(scopes);
  }
  if (basic) {
    if (!options_.credentials || (scheme_ == Scheme::kBasic && sent_authorization))
      return fail("unauthorized: {} ({})", describe_registry_error(401, response.body),
                  unauthorized_hint());
    scheme_ = Scheme::kBasic;
    return {};
  }
  return fail("unauthorized: {} (the registry offers no Basic or Bearer authentication)",
              describe_registry_error(401, response.body));
}

RegistryClient::Exchange RegistryClient::exchange(const HttpRequest& request,
                                                  const std::vector<std::string>& extra_scopes) {
  std::vector<std::string> scopes = {repository_scope(repository_, actions_)};
  scopes.insert(scopes.end(), extra_scopes.begin(), extra_scopes.end());
  for (int round = 0;; ++round) {
    HttpRequest req = request;
    if (auto s = authorize(req, scopes); !s) return std::unexpected(Failure{s.error()});
    bool sent_authorization = req.headers.size() > request.headers.size();
    ++stats_.requests;
    auto r = http_.perform(req);
    if (!r) {
      bool transient = options_.retry.retries_failure(r.error().kind);
      return std::unexpected(Failure{std::move(r.error().error), transient, std::nullopt});
    }
    if (r->status != 401) return std::move(*r);
    if (round == 1)
      return std::unexpected(Failure{
          Error(0, fmt::format("unauthorized: {} ({})", describe_registry_error(401, r->body),
                               unauthorized_hint()))});
    if (auto s = answer_challenge(*r, scopes, sent_authorization); !s)
      return std::unexpected(Failure{s.error()});
  }
}

void RegistryClient::sleep_before_retry(int attempt,
                                        std::optional<std::chrono::seconds> retry_after) {
  ++stats_.retries;
  std::this_thread::sleep_for(options_.retry.delay(attempt, retry_after));
}

Result<HttpResponse> RegistryClient::send(const HttpRequest& request,
                                          const std::vector<std::string>& extra_scopes,
                                          const std::function<Status()>& restart) {
  for (int attempt = 1;; ++attempt) {
    bool last = attempt >= options_.retry.max_attempts;
    auto r = exchange(request, extra_scopes);
    std::optional<std::chrono::seconds> retry_after;
    if (r) {
      if (last || !options_.retry.retries_status(r->status)) return std::move(*r);
      retry_after = parse_retry_after(r->header("retry-after"));
      log::debug("{} {}: {}, trying again", request.method, request.url,
                 describe_registry_error(r->status, r->body));
    } else {
      if (last || !r.error().transient) {
        Error e = std::move(r.error().error);
        if (attempt > 1 && r.error().transient) e = with_attempts(std::move(e), attempt);
        return std::unexpected(std::move(e));
      }
      log::debug("{} {}: {}, trying again", request.method, request.url, r.error().error.message());
    }
    sleep_before_retry(attempt, retry_after);
    if (restart) SLW_TRY(restart());
  }
}

RegistryClient::Failure RegistryClient::unexpected_status(const HttpResponse& r,
                                                          std::string_view what) const {
  return Failure{Error(0, fmt::format("{}: {}", what, describe_registry_error(r.status, r.body))),
                 options_.retry.retries_status(r.status),
                 parse_retry_after(r.header("retry-after"))};
}

Result<std::optional<int64_t>> RegistryClient::blob_size(std::string_view digest) {
  HttpRequest req;
  req.method = "HEAD";
  req.url = fmt::format("{}/blobs/{}", repo_url_, digest);
  req.follow_redirects = true;
  ++stats_.blob_heads;
  HttpResponse r = SLW_TRY(send(req));
  if (r.status == 404) return std::optional<int64_t>();
  if (r.status != 200) return std::unexpected(unexpected_status(r, "check blob").error);
  int64_t size = -1;
  if (std::string len = r.header("content-length"); !len.empty()) {
    try {
      size = std::stoll(len);
    } catch (const std::exception&) {
      return fail("check blob {}: bad Content-Length '{}'", digest, len);
    }
  }
  return std::optional<int64_t>(size);
}

Result<bool> RegistryClient::mount_blob(std::string_view digest, std::string_view from) {
  HttpRequest req;
  req.method = "POST";
  req.url = fmt::format("{}/blobs/uploads/?mount={}&from={}", repo_url_, url_escape(digest),
                        url_escape(from));
  req.max_body = kMaxSmallBody;
  HttpResponse r = SLW_TRY(send(req, {repository_scope(from, "pull")}));
  if (r.status == 201) {
    ++stats_.mounts;
    return true;
  }
  if (r.status == 202) {
    // The registry could not mount (the source is gone or not ours) and opened an upload instead.
    if (std::string loc = r.header("location"); !loc.empty())
      pending_upload_ = SLW_TRY(HttpSession::resolve_url(req.url, loc));
    return false;
  }
  return std::unexpected(
      unexpected_status(r, fmt::format("mount blob {} from {}", digest, from)).error);
}

Result<std::string> RegistryClient::start_upload() {
  if (pending_upload_) return *std::exchange(pending_upload_, std::nullopt);
  HttpRequest req;
  req.method = "POST";
  req.url = repo_url_ + "/blobs/uploads/";
  req.max_body = kMaxSmallBody;
  HttpResponse r = SLW_TRY(send(req));
  if (r.status != 202) return std::unexpected(unexpected_status(r, "start upload").error);
  std::string loc = r.header("location");
  if (loc.empty()) return fail("start upload: the registry gave no upload Location");
  if (std::string min = r.header("oci-chunk-min-length"); !min.empty()) {
    try {
      min_chunk_ = std::stoll(min);
    } catch (const std::exception&) {
      min_chunk_ = 0;
    }
  }
  return HttpSession::resolve_url(req.url, loc);
}

std::expected<void, RegistryClient::Failure> RegistryClient::upload_once(
    std::string_view digest, int fd, int64_t size, int64_t chunk_size,
    const std::function<void(int64_t)>& progress) {
  auto started = start_upload();
  if (!started) return std::unexpected(Failure{started.error(), false});
  std::string location = *started;
  // A session that fails half way is cancelled, so the registry can drop what it got.
  bool done = false;
  auto cancel = [&] {
    if (done) return;
    HttpRequest del;
    del.method = "DELETE";
    del.url = location;
    del.max_body = kMaxSmallBody;
    (void)exchange(del, {});
  };
  auto fail_with = [&](Failure f) -> std::unexpected<Failure> {
    cancel();
    return std::unexpected(std::move(f));
  };

  UploadPlan plan = plan_upload(size, chunk_size, min_chunk_);
  for (const auto& chunk : plan.chunks) {
    HttpRequest req;
    req.method = "PATCH";
    req.url = location;
    req.headers = {std::string(kOctetStream), "Content-Range: " + chunk.content_range()};
    req.body_fd = fd;
    req.body_offset = chunk.offset;
    req.body_size = chunk.size;
    req.max_body = kMaxSmallBody;
    if (progress) req.progress = [&](int64_t n) { progress(chunk.offset + n); };
    auto r = exchange(req, {});
    if (!r) return fail_with(std::move(r.error()));
    if (r->status != 202 && r->status != 204)
      return fail_with(
          unexpected_status(*r, fmt::format("upload chunk {}", chunk.content_range())));
    if (std::string loc = r->header("location"); !loc.empty()) {
      auto next = HttpSession::resolve_url(location, loc);
      if (!next) return fail_with(Failure{next.error()});
      location = *next;
    }
  }

  auto url = HttpSession::add_query(location, "digest", digest);
  if (!url) return fail_with(Failure{url.error()});
  HttpRequest put;
  put.method = "PUT";
  put.url = *url;
  put.headers = {std::string(kOctetStream)};
  put.max_body = kMaxSmallBody;
  if (plan.method == UploadPlan::Method::kMonolithic) {
    put.body_fd = fd;
    put.body_size = size;
    put.progress = progress;
  }
  auto r = exchange(put, {});
  if (!r) return fail_with(std::move(r.error()));
  if (r->status != 201) return fail_with(unexpected_status(*r, "finish upload"));
  done = true;
  if (std::string got = r->header("docker-content-digest"); !got.empty() && got != digest)
    return std::unexpected(Failure{Error(0, fmt::format("the registry stored it as {}", got))});
  if (progress) progress(size);
  return {};
}

Status RegistryClient::upload_blob(std::string_view digest, int fd, int64_t size,
                                   int64_t chunk_size,
                                   const std::function<void(int64_t)>& progress) {
  for (int attempt = 1;; ++attempt) {
    auto r = upload_once(digest, fd, size, chunk_size, progress);
    if (r) {
      ++stats_.blob_uploads;
      return {};
    }
    if (!r.error().transient || attempt >= options_.retry.max_attempts) {
      Error e = std::move(r.error().error);
      if (attempt > 1) e = with_attempts(std::move(e), attempt);
      return std::unexpected(std::move(e).context(fmt::format("upload blob {}", digest)));
    }
    log::debug("upload blob {}: {}, trying again", digest, r.error().error.message());
    sleep_before_retry(attempt, r.error().retry_after);
  }
}

Result<std::string> RegistryClient::put_manifest(std::string_view reference,
                                                 std::string_view media_type,
                                                 std::string_view body) {
  HttpRequest req;
  req.method = "PUT";
  req.url = fmt::format("{}/manifests/{}", repo_url_, reference);
  req.headers = {fmt::format("Content-Type: {}", media_type)};
  req.body = std::string(body);
  req.max_body = kMaxSmallBody;
  HttpResponse r = SLW_TRY(send(req));
  if (r.status != 201)
    return std::unexpected(unexpected_status(r, fmt::format("put manifest {}", reference)).error);
  std::string digest = sha256_digest(body);
  if (std::string got = r.header("docker-content-digest"); !got.empty() && got != digest)
    return fail("put manifest {}: the registry stored {} as {}", reference, digest, got);
  return digest;
}

Status RegistryClient::check_login() {
  HttpRequest req;
  req.url = repo_url_;  // ".../v2/" with no repository
  req.max_body = kMaxSmallBody;
  HttpResponse r = SLW_TRY(send(req));
  if (r.status != 200) return std::unexpected(unexpected_status(r, "login").error);
  return {};
}

Result<FetchedManifest> RegistryClient::get_manifest(std::string_view reference) {
  HttpRequest req;
  req.url = fmt::format("{}/manifests/{}", repo_url_, reference);
  req.headers = {fmt::format("Accept: {}, {}, {}, {}", kMediaTypeOciManifest, kMediaTypeOciIndex,
                             kMediaTypeDockerManifest, kMediaTypeDockerManifestList)};
  req.max_body = static_cast<size_t>(kMaxJsonBlobSize);
  req.follow_redirects = true;
  HttpResponse r = SLW_TRY(send(req));
  if (r.status != 200)
    return std::unexpected(unexpected_status(r, fmt::format("manifest {}", reference)).error);
  FetchedManifest m;
  m.media_type = media_type_of(r.header("content-type"));
  m.digest = sha256_digest(r.body);
  m.body = std::move(r.body);
  // A registry names the digest of what it meant to send; a different body is corrupt.
  if (std::string claimed = r.header("docker-content-digest");
      !claimed.empty() && claimed != m.digest && is_sha256_digest(claimed))
    return fail("manifest {}: content is {} but the registry says {}", reference, m.digest,
                claimed);
  return m;
}

Status RegistryClient::get_blob(std::string_view digest,
                                const std::function<Status(std::string_view)>& sink,
                                const std::function<Status()>& restart,
                                const std::function<void(int64_t)>& progress) {
  HttpRequest req;
  req.url = fmt::format("{}/blobs/{}", repo_url_, digest);
  req.follow_redirects = true;
  req.sink = sink;
  req.progress = progress;
  req.max_body = kMaxSmallBody;
  HttpResponse r = SLW_TRY(send(req, {}, restart));
  if (r.status != 200)
    return std::unexpected(unexpected_status(r, fmt::format("blob {}", digest)).error);
  return {};
}

}  // namespace slipway::oci
