#include "netns/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slipway::netns {

Result<LockFile> LockFile::acquire(const std::string& path) {
  for (;;) {
    int raw = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (raw < 0) return fail_errno(fmt::format("open lock file {}", path));
    UniqueFd fd(raw);
    while (::flock(fd.get(), LOCK_EX) < 0) {
      if (errno != EINTR) return fail_errno(fmt::format("lock {}", path));
    }
    struct stat held, current;
    if (::fstat(fd.get(), &held) < 0) return fail_errno(fmt::format("stat lock file {}", path));
    if (::stat(path.c_str(), &current) < 0) {
      if (errno == ENOENT) continue;  // removed by the holder we waited for
      return fail_errno(fmt::format("stat lock file {}", path));
    }
    if (held.st_dev != current.st_dev || held.st_ino != current.st_ino) continue;
    return LockFile(std::move(fd), path);
  }
}

Status LockFile::remove() {
  if (!fd_.valid()) return fail("remove lock file {}: not held", path_);
  if (::unlink(path_.c_str()) < 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove lock file {}", path_));
  return {};
}

}  // namespace slipway::netns
