#include "oci/build/download.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <optional>

#include "base/ascii.h"
#include "oci/registry/curl_library.h"
#include "oci/digest.h"

namespace slipway::oci {

namespace {

constexpr char kUserAgent[] = "slipway/0.1";
constexpr long kMaxRedirects = 10;  // Go's http client, which Docker uses, stops after 10

// What one transfer shares with its callbacks.
struct Transfer {
  int fd = -1;
  Sha256 hash;
  const DownloadOptions* options = nullptr;
  std::optional<Error> aborted;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  for (size_t done = 0; done < n;) {
    ssize_t w = ::write(t->fd, data + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      t->aborted = Error(errno, fmt::format("write the download: {}", std::strerror(errno)));
      return CURL_WRITEFUNC_ERROR;
    }
    done += static_cast<size_t>(w);
  }
  t->hash.update(data, n);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->options->cancelled && t->options->cancelled()) {
    t->aborted = Error(EINTR, "interrupted");
    return 1;
  }
  return 0;
}

// An unlinked file in dir: O_TMPFILE where the file system has it, else create and unlink.
Result<UniqueFd> temp_file(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return fail_errno(fmt::format("make a temporary file in {}", dir));
  std::string path = dir + "/download-XXXXXX";
  fd.reset(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("make a temporary file in {}", dir));
  ::unlink(path.c_str());
  return fd;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = -1, lo = -1;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 &&
        (lo = hex_value(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool is_http_url(std::string_view source) {
  return source.starts_with("http://") || source.starts_with("https://");
}

bool is_url(std::string_view source) {
  return source.find("://") != std::string_view::npos || source.starts_with("git@");
}

std::string url_file_name(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos)
    url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("?#"));
  auto slash = url.find('/');
  std::string path = slash == std::string_view::npos ? "" : percent_decode(url.substr(slash));
  // Go's path.Base, as Docker uses it: trailing slashes do not count.
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string base = path.substr(path.rfind('/') + 1);
  if (base.empty() || base == "." || base == "..") return "__unnamed__";
  return base;
}

Result<std::string> parse_checksum(std::string_view text) {
  std::string out = ascii_lower(text);
  if (!is_sha256_digest(out))
    return fail("invalid --checksum={}: want sha256:<64 hex digits>", text);
  return out;
}

Status check_checksum(std::string_view want, std::string_view got) {
  if (want == got) return {};
  return fail("checksum mismatch: want {}, got {}", want, got);
}

Result<Download> download_url(const std::string& url, const std::string& dir,
                              const DownloadOptions& options) {
  if (!is_http_url(url)) return fail("only http:// and https:// URLs can be downloaded");
  SLW_TRY(load_curl());
  const CurlLibrary& curl = curl_lib();
  std::unique_ptr<CURL, void (*)(CURL*)> handle(curl.easy_init(), curl.easy_cleanup);
  if (!handle) return fail("libcurl: cannot create a handle");
  Download out;
  out.fd = SLW_TRY(temp_file(dir));
  Transfer t;
  t.fd = out.fd.get();
  t.options = &options;
  char error[CURL_ERROR_SIZE] = {};
  CURL* h = handle.get();
  curl.easy_setopt(h, CURLOPT_URL, url.c_str());
  curl.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl.easy_setopt(h, CURLOPT_MAXREDIRS, kMaxRedirects);
  // No body is kept from an error response: only its status is reported.
  curl.easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl.easy_setopt(h, CURLOPT_USERAGENT, kUserAgent);
  curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count()));
  curl.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall.count()));
  curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl.easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl.easy_setopt(h, CURLOPT_XFERINFODATA, &t);

  CURLcode code = curl.easy_perform(h);
  if (code != CURLE_OK) {
    if (t.aborted) return std::unexpected(std::move(*t.aborted));
    if (code == CURLE_HTTP_RETURNED_ERROR) {
      long status = 0;
      curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
      return fail("HTTP {}", status);
    }
    long os_errno = 0;
    curl.easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    if (code == CURLE_COULDNT_CONNECT && os_errno != 0)
      return fail_errno("connect", static_cast<int>(os_errno));
    return fail("{}", error[0] ? error : curl.easy_strerror(code));
  }
  long status = 0;
  curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  // A redirect the limit stopped, or an odd 1xx/3xx: no file came.
  if (status < 200 || status >= 300) return fail("HTTP {}", status);
  out.size = static_cast<int64_t>(t.hash.size());
  out.digest = t.hash.finish();
  return out;
}

}  // namespace slipway::oci
