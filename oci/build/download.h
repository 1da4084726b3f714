// ADD <URL>: fetches an http(s) URL into an unlinked temporary file while hashing it, so that the
// layer cache can key the step by content (as Docker does) and nothing is left behind if the build
// dies. Follows redirects; HTTP >= 400, a dead server or a stalled transfer is a one-line error.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::oci {

struct Download {
  UniqueFd fd;         // the content: an unlinked file, read with pread from offset 0
  std::string digest;  // "sha256:<hex>" of the content
  int64_t size = 0;
};

struct DownloadOptions {
  std::chrono::seconds connect_timeout{30};
  // Less than one byte a second for this long gives the transfer up.
  std::chrono::seconds stall{60};
  std::function<bool()> cancelled;  // polled during the transfer; true stops it
};

// Docker downloads http:// and https:// sources; other URLs (git) are not files to fetch.
bool is_http_url(std::string_view source);
// Anything that looks like a URL rather than a path in the context: "scheme://..." or "git@".
bool is_url(std::string_view source);

// The name a URL's file gets under a directory destination: the last element of its path,
// percent-decoded, without query or fragment; "__unnamed__" when the path has none (Docker's).
std::string url_file_name(std::string_view url);

// ADD --checksum: "sha256:<64 hex digits>" (normalised to lowercase); the error says what is wrong.
Result<std::string> parse_checksum(std::string_view text);

// Fetches url into an unlinked file made in `dir` (which must exist). Errors do not repeat the
// URL (the caller says "ADD <url>: ..."): "HTTP 404", "connect: Connection refused".
Result<Download> download_url(const std::string& url, const std::string& dir,
                              const DownloadOptions& options = {});

// "checksum mismatch: want sha256:..., got sha256:..." unless they agree.
Status check_checksum(std::string_view want, std::string_view got);

}  // namespace slipway::oci
