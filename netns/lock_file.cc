#include "netns/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slipway::netns {

namespace {

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

Result<LockFile> LockFile::acquire(const std::string& path) {
  for (;;) {
    int raw = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (raw < 0) return fail_errno(fmt::format("open lock file {}", path));
    UniqueFd fd(raw);
    while (::flock(fd.get(), LOCK_EX) < 0) {
      if (errno != EINTR) return fail_errno(fmt::format("lock {}", path));
    }
    if (SLW_TRY(still_at_path(fd.get(), path))) return LockFile(std::move(fd), path);
  }
}

Result<std::optional<LockFile>> LockFile::try_acquire(const std::string& path, bool create) {
  for (;;) {
    int raw = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (raw < 0) {
      if (errno == ENOENT && !create) return std::optional<LockFile>();
      return fail_errno(fmt::format("open lock file {}", path));
    }
    UniqueFd fd(raw);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
      if (errno == EWOULDBLOCK) return std::optional<LockFile>();
      return fail_errno(fmt::format("lock {}", path));
    }
    if (SLW_TRY(still_at_path(fd.get(), path))) return std::optional(LockFile(std::move(fd), path));
    if (!create) return std::optional<LockFile>();  // removed by its last holder
  }
}

Status LockFile::remove() {
  if (!fd_.valid()) return fail("remove lock file {}: not held", path_);
  if (::unlink(path_.c_str()) < 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove lock file {}", path_));
  return {};
}

}  // namespace slipway::netns
