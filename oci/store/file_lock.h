// flock(2) locks that let several slipway processes share one store root: held while the object
// lives, dropped by the kernel if the process dies.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::oci {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Blocks until the lock on `path` (created if missing) is held.
  static Result<FileLock> acquire(const std::string& path, Mode mode);
  // Locks an open file or directory without blocking; nullopt when someone else holds it.
  static Result<std::optional<FileLock>> try_acquire_fd(UniqueFd fd, Mode mode,
                                                        const std::string& what);
  // Locks an open file or directory, blocking.
  static Result<FileLock> acquire_fd(UniqueFd fd, Mode mode, const std::string& what);

  FileLock() = default;
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

  int fd() const { return fd_.get(); }
  bool held() const { return fd_.valid(); }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace slipway::oci
