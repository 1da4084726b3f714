#include "oci/registry/http.h"

#include <curl/curl.h>

#include "base/ascii.h"
#include "oci/registry/curl_library.h"
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <optional>

#include "base/scope_exit.h"

namespace slipway::oci {

namespace {

constexpr char kUserAgent[] = "slipway/0.1";
// Bigger than curl's 16 KiB / 64 KiB defaults: fewer callbacks and syscalls per layer.
constexpr long kDownloadBuffer = 512 * 1024;
constexpr long kUploadBuffer = 512 * 1024;
constexpr int kMaxRedirects = 5;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// What one perform() shares with its callbacks.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  int64_t read_pos = 0;  // into the request body
  std::optional<Error> aborted;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response begins (after 100 Continue or a redirect): only the last one counts.
    t->response->headers.clear();
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response->headers.emplace_back(ascii_lower(trim(line.substr(0, colon))),
                                      std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_lib().easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->request->sink && status >= 200 && status < 300) {
    if (auto s = t->request->sink(std::string_view(data, n)); !s) {
      t->aborted = std::move(s.error());
      return CURL_WRITEFUNC_ERROR;
    }
    return n;
  }
  if (t->response->body.size() + n > t->request->max_body) {
    t->aborted = Error(0, fmt::format("response body larger than {} bytes", t->request->max_body));
    return CURL_WRITEFUNC_ERROR;
  }
  t->response->body.append(data, n);
  return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& r = *t->request;
  int64_t total = r.body_fd >= 0 ? r.body_size : static_cast<int64_t>(r.body.size());
  size_t want = std::min<int64_t>(static_cast<int64_t>(size * count), total - t->read_pos);
  if (want == 0) return 0;
  if (r.body_fd < 0) {
    std::memcpy(buffer, r.body.data() + t->read_pos, want);
    t->read_pos += static_cast<int64_t>(want);
    return want;
  }
  for (;;) {
    ssize_t got = ::pread(r.body_fd, buffer, want, r.body_offset + t->read_pos);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      t->aborted = Error(errno, fmt::format("read request body: {}", std::strerror(errno)));
      return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
      t->aborted = Error(0, "read request body: the file ended early");
      return CURL_READFUNC_ABORT;
    }
    t->read_pos += got;
    return static_cast<size_t>(got);
  }
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  t->read_pos = offset;
  return CURL_SEEKFUNC_OK;
}

int on_progress(void* user, curl_off_t, curl_off_t down_now, curl_off_t, curl_off_t up_now) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request->progress) t->request->progress(up_now > 0 ? up_now : down_now);
  return 0;
}

TransportFailure classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return TransportFailure::kConnect;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return TransportFailure::kDropped;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return TransportFailure::kResolve;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return TransportFailure::kTls;
    default:
      return TransportFailure::kOther;
  }
}

Status global_init() {
  SLW_TRY(load_curl());
  return {};
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::vector<std::string> HttpResponse::header_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == name) out.push_back(v);
  return out;
}

HttpSession::HttpSession(void* curl, HttpTimeouts timeouts)
    : curl_(curl), error_buffer_(new char[CURL_ERROR_SIZE]()), timeouts_(timeouts) {}

HttpSession::HttpSession(HttpSession&& other) noexcept
    : curl_(std::exchange(other.curl_, nullptr)),
      error_buffer_(std::move(other.error_buffer_)),
      timeouts_(other.timeouts_) {}

HttpSession& HttpSession::operator=(HttpSession&& other) noexcept {
  if (this != &other) {
    if (curl_) curl_lib().easy_cleanup(static_cast<CURL*>(curl_));
    curl_ = std::exchange(other.curl_, nullptr);
    error_buffer_ = std::move(other.error_buffer_);
    timeouts_ = other.timeouts_;
  }
  return *this;
}

HttpSession::~HttpSession() {
  if (curl_) curl_lib().easy_cleanup(static_cast<CURL*>(curl_));
}

Result<HttpSession> HttpSession::create(HttpTimeouts timeouts) {
  SLW_TRY(global_init());
  CURL* curl = curl_lib().easy_init();
  if (!curl) return fail("libcurl: cannot create a handle");
  return HttpSession(curl, timeouts);
}

std::expected<HttpResponse, HttpFailure> HttpSession::perform(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(curl_);
  // reset keeps the live connections, DNS and TLS session caches: that is the keep-alive.
  curl_lib().easy_reset(curl);
  error_buffer_[0] = '\0';
  HttpResponse response;
  Transfer t{curl, &request, &response, 0, std::nullopt};

  curl_slist* headers = nullptr;
  ScopeExit free_headers([&] { curl_lib().slist_free_all(headers); });
  for (const auto& h : request.headers) headers = curl_lib().slist_append(headers, h.c_str());

  curl_lib().easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_lib().easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer_.get());
  curl_lib().easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_lib().easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_lib().easy_setopt(curl, CURLOPT_USERAGENT, kUserAgent);
  curl_lib().easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeouts_.connect.count()));
  curl_lib().easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_lib().easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeouts_.stall.count()));
  curl_lib().easy_setopt(curl, CURLOPT_BUFFERSIZE, kDownloadBuffer);
  curl_lib().easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBuffer);
  curl_lib().easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_lib().easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_lib().easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_lib().easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_lib().easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (request.follow_redirects) {
    curl_lib().easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_lib().easy_setopt(curl, CURLOPT_MAXREDIRS, static_cast<long>(kMaxRedirects));
    curl_lib().easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  if (request.progress) {
    curl_lib().easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_lib().easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_lib().easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  }

  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_lib().easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (m == "PUT" || m == "POST" || m == "PATCH") {
    int64_t size =
        request.body_fd >= 0 ? request.body_size : static_cast<int64_t>(request.body.size());
    // UPLOAD sends the body from on_read with a Content-Length; the verb is then set by name.
    curl_lib().easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_lib().easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_lib().easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_lib().easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_lib().easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
    curl_lib().easy_setopt(curl, CURLOPT_SEEKDATA, &t);
    if (m != "PUT") curl_lib().easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  } else if (m != "GET") {
    curl_lib().easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  }

  CURLcode code = curl_lib().easy_perform(curl);
  if (code != CURLE_OK) {
    if (t.aborted) return std::unexpected(HttpFailure{TransportFailure::kAborted, *t.aborted});
    long os_errno = 0;
    curl_lib().easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    std::string detail = error_buffer_[0] ? error_buffer_.get() : curl_lib().easy_strerror(code);
    std::string message;
    if (code == CURLE_COULDNT_CONNECT && os_errno != 0)
      message = fmt::format("connect: {}", std::strerror(static_cast<int>(os_errno)));
    else if (code == CURLE_COULDNT_CONNECT)
      message = fmt::format("connect: {}", detail);
    else
      message = detail;
    return std::unexpected(
        HttpFailure{classify(code), Error(static_cast<int>(os_errno), std::move(message))});
  }
  curl_lib().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<std::string> HttpSession::resolve_url(std::string_view base, std::string_view reference) {
  SLW_TRY(global_init());
  CURLU* u = curl_lib().url();
  if (!u) return fail("libcurl: out of memory");
  ScopeExit free_url([&] { curl_lib().url_cleanup(u); });
  std::string b(base), r(reference);
  if (curl_lib().url_set(u, CURLUPART_URL, b.c_str(), 0) != CURLUE_OK) return fail("bad URL '{}'", base);
  if (curl_lib().url_set(u, CURLUPART_URL, r.c_str(), 0) != CURLUE_OK)
    return fail("bad URL '{}' (relative to {})", reference, base);
  char* out = nullptr;
  if (curl_lib().url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) return fail("bad URL '{}'", reference);
  ScopeExit free_out([&] { curl_lib().free(out); });
  return std::string(out);
}

Result<std::string> HttpSession::add_query(std::string_view url, std::string_view key,
                                           std::string_view value) {
  SLW_TRY(global_init());
  CURLU* u = curl_lib().url();
  if (!u) return fail("libcurl: out of memory");
  ScopeExit free_url([&] { curl_lib().url_cleanup(u); });
  std::string b(url), q = fmt::format("{}={}", key, value);
  if (curl_lib().url_set(u, CURLUPART_URL, b.c_str(), 0) != CURLUE_OK) return fail("bad URL '{}'", url);
  // With URLENCODE the first '=' of an appended pair stays as it is; the value is escaped.
  if (curl_lib().url_set(u, CURLUPART_QUERY, q.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
    return fail("cannot add {} to URL '{}'", key, url);
  char* out = nullptr;
  if (curl_lib().url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) return fail("bad URL '{}'", url);
  ScopeExit free_out([&] { curl_lib().free(out); });
  return std::string(out);
}

}  // namespace slipway::oci
