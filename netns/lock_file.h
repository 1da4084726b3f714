// Exclusive flock(2) on a lock file beside the state it guards. The kernel drops the lock when
// the holder dies, so a SIGKILLed slipway never leaves a store locked.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::netns {

class LockFile {
 public:
  // Blocks until the lock on `path` (created if missing) is held. A waiter whose file was
  // removed or replaced while it waited starts over on the new file, so a holder may delete the
  // lock file (network rm) without ever letting two processes in at once.
  static Result<LockFile> acquire(const std::string& path);
  // The same without waiting: nullopt when another process holds the lock, or when the file does
  // not exist and create is false.
  static Result<std::optional<LockFile>> try_acquire(const std::string& path, bool create);

  LockFile() = default;
  LockFile(LockFile&&) = default;
  LockFile& operator=(LockFile&&) = default;

  // Unlinks the lock file while still holding it; the lock is released at destruction.
  Status remove();
  bool held() const { return fd_.valid(); }

 private:
  LockFile(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

}  // namespace slipway::netns
