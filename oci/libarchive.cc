#include "oci/libarchive.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace slipway::oci {

std::string archive_message(struct archive* a, std::string_view fallback) {
  const char* m = archive_error_string(a);
  return m && *m ? std::string(m) : std::string(fallback);
}

Status write_entry_data(struct archive* a, int fd, int64_t size, const std::string& path,
                        char* buf) {
  for (int64_t left = size; left > 0;) {
    ssize_t n = ::read(fd, buf, static_cast<size_t>(std::min<int64_t>(left, kArchiveBlock)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("read {}", path));
    if (n == 0) return fail("{} shrank while it was being archived", path);
    if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0)
      return fail("write {} into the archive: {}", path, archive_message(a));
    left -= n;
  }
  return {};
}

}  // namespace slipway::oci
