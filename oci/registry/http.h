// One libcurl easy handle reused for every request of a registry session, so that requests share
// a kept-alive connection. Bodies go up from memory or straight from a file; responses come back
// into memory or stream into a sink. A failure below HTTP is classified for the retry policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "oci/registry/retry.h"

namespace slipway::oci {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The body: `body`, or body_size bytes of body_fd from body_offset. The file is read with
  // pread, so the same request can be sent again (a retry, a redirect) without rewinding it.
  std::string body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_size = 0;
  // Takes the body of a 2xx response as it arrives instead of keeping it in memory; an error
  // stops the transfer. Bodies of other responses are always kept (they carry the error).
  std::function<Status(std::string_view)> sink;
  // Largest body kept in memory; more is an error.
  size_t max_body = 8 << 20;
  bool follow_redirects = false;
  // Bytes of the body sent (uploads) or received (downloads) so far.
  std::function<void(int64_t)> progress;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  // Of the final response only (not of a 100 Continue or a followed redirect); names lowercase.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of a header, "" when absent.
  std::string header(std::string_view name) const;
  std::vector<std::string> header_values(std::string_view name) const;
};

struct HttpFailure {
  TransportFailure kind = TransportFailure::kOther;
  Error error;
};

struct HttpTimeouts {
  std::chrono::seconds connect{30};
  // A transfer during which no byte moves for this long is given up (a stalled connection).
  std::chrono::seconds stall{60};
};

class HttpSession {
 public:
  static Result<HttpSession> create(HttpTimeouts timeouts = {});
  HttpSession(HttpSession&& other) noexcept;
  HttpSession& operator=(HttpSession&& other) noexcept;
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;
  ~HttpSession();

  std::expected<HttpResponse, HttpFailure> perform(const HttpRequest& request);

  // A Location header resolved against the URL it came from.
  static Result<std::string> resolve_url(std::string_view base, std::string_view reference);
  // url with "key=value" appended to its query (value escaped), keeping what the query has.
  static Result<std::string> add_query(std::string_view url, std::string_view key,
                                       std::string_view value);

 private:
  HttpSession(void* curl, HttpTimeouts timeouts);

  void* curl_ = nullptr;  // CURL*, opaque here so that users need no curl headers
  // CURLOPT_ERRORBUFFER must stay at one address for the handle's life, across moves.
  std::unique_ptr<char[]> error_buffer_;
  HttpTimeouts timeouts_;
};

}  // namespace slipway::oci
