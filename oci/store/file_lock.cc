#include "oci/store/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

namespace slipway::oci {

namespace {

int op_for(FileLock::Mode mode) {
  return mode == FileLock::Mode::kShared ? LOCK_SH : LOCK_EX;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail_errno(fmt::format("open lock {}", path));
  return acquire_fd(std::move(fd), mode, path);
}

Result<FileLock> FileLock::acquire_fd(UniqueFd fd, Mode mode, const std::string& what) {
  while (::flock(fd.get(), op_for(mode)) < 0) {
    if (errno != EINTR) return fail_errno(fmt::format("lock {}", what));
  }
  return FileLock(std::move(fd));
}

Result<std::optional<FileLock>> FileLock::try_acquire_fd(UniqueFd fd, Mode mode,
                                                         const std::string& what) {
  while (::flock(fd.get(), op_for(mode) | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) return std::optional<FileLock>();
    if (errno != EINTR) return fail_errno(fmt::format("lock {}", what));
  }
  return std::optional<FileLock>(FileLock(std::move(fd)));
}

}  // namespace slipway::oci
