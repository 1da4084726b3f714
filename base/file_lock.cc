#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slipway {

namespace {

int op_for(FileLock::Mode mode) {
  return mode == FileLock::Mode::kShared ? LOCK_SH : LOCK_EX;
}

// flock, retried on EINTR: true when held, false when `nonblocking` and someone else holds it.
Result<bool> lock(int fd, FileLock::Mode mode, bool nonblocking, const std::string& what) {
  while (::flock(fd, op_for(mode) | (nonblocking ? LOCK_NB : 0)) < 0) {
    if (nonblocking && errno == EWOULDBLOCK) return false;
    if (errno != EINTR) return fail_errno(fmt::format("lock {}", what));
  }
  return true;
}

// Whether the held fd is still the file at path: a holder may have removed or replaced it.
Result<bool> still_at_path(int fd, const std::string& path) {
  struct stat held, current;
  if (::fstat(fd, &held) < 0) return fail_errno(fmt::format("stat lock file {}", path));
  if (::stat(path.c_str(), &current) < 0) {
    if (errno == ENOENT) return false;
    return fail_errno(fmt::format("stat lock file {}", path));
  }
  return held.st_dev == current.st_dev && held.st_ino == current.st_ino;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::string& path, Mode mode) {
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail_errno(fmt::format("open lock file {}", path));
    SLW_TRY(lock(fd.get(), mode, false, path));
    if (SLW_TRY(still_at_path(fd.get(), path))) return FileLock(std::move(fd), path);
  }
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::string& path, Mode mode,
                                                      bool create) {
  for (;;) {
    UniqueFd fd(
        ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600));
    if (!fd) {
      if (errno == ENOENT && !create) return std::optional<FileLock>();
      return fail_errno(fmt::format("open lock file {}", path));
    }
    if (!SLW_TRY(lock(fd.get(), mode, true, path))) return std::optional<FileLock>();
    if (SLW_TRY(still_at_path(fd.get(), path)))
      return std::optional<FileLock>(FileLock(std::move(fd), path));
    if (!create) return std::optional<FileLock>();  // removed by its last holder
  }
}

Result<FileLock> FileLock::acquire_fd(UniqueFd fd, Mode mode, const std::string& what) {
  SLW_TRY(lock(fd.get(), mode, false, what));
  return FileLock(std::move(fd), "");
}

Result<std::optional<FileLock>> FileLock::try_acquire_fd(UniqueFd fd, Mode mode,
                                                         const std::string& what) {
  if (!SLW_TRY(lock(fd.get(), mode, true, what))) return std::optional<FileLock>();
  return std::optional<FileLock>(FileLock(std::move(fd), ""));
}

Status FileLock::remove() {
  if (!fd_.valid()) return fail("remove lock file {}: not held", path_);
  if (path_.empty()) return fail("remove lock file: locked through an fd, the path is unknown");
  if (::unlink(path_.c_str()) < 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove lock file {}", path_));
  return {};
}

}  // namespace slipway
