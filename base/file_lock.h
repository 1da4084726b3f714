// flock(2) on a lock file beside the state it guards (the image store, network files and leases,
// the git mirror cache, deploys): held while the object lives, dropped by the kernel when the
// holder dies, so a SIGKILLed slipway never leaves anything locked.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };

  // Blocks until the lock on `path` (created if missing) is held. A waiter whose file was
  // removed or replaced while it waited starts over on the new file, so a holder may delete the
  // lock file (remove()) without ever letting two processes in at once.
  static Result<FileLock> acquire(const std::string& path, Mode mode = Mode::kExclusive);
  // The same without waiting: nullopt when another process holds the lock, or when the file does
  // not exist and create is false.
  static Result<std::optional<FileLock>> try_acquire(const std::string& path, Mode mode,
                                                     bool create);
  // Locks an open file or directory, blocking.
  static Result<FileLock> acquire_fd(UniqueFd fd, Mode mode, const std::string& what);
  // Locks an open file or directory without blocking; nullopt when someone else holds it.
  static Result<std::optional<FileLock>> try_acquire_fd(UniqueFd fd, Mode mode,
                                                        const std::string& what);

  FileLock() = default;
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

  // Unlinks the lock file while still holding it; the lock is released at destruction.
  Status remove();
  int fd() const { return fd_.get(); }
  bool held() const { return fd_.valid(); }

 private:
  FileLock(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;  // empty when locked through an fd
};

}  // namespace slipway
