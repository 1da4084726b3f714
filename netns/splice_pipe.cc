#include "netns/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace slipway::netns {

Result<SplicePipe> SplicePipe::make(size_t max_capacity) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return fail_errno("create pipe");
  SplicePipe pipe;
  pipe.read_end_ = UniqueFd(fds[0]);
  pipe.write_end_ = UniqueFd(fds[1]);
  int size = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (size < 0) return fail_errno("get pipe size");
  pipe.capacity_ = static_cast<size_t>(size);
  pipe.initial_capacity_ = pipe.capacity_;
  pipe.max_capacity_ = std::max(max_capacity, pipe.capacity_);
  return pipe;
}

void SplicePipe::grow() {
  size_t want = std::min(capacity_ * 4, max_capacity_);
  int size = ::fcntl(write_end_.get(), F_SETPIPE_SZ, static_cast<int>(want));
  if (size < 0) {
    max_capacity_ = capacity_;  // refused: do not ask again on every fill
    return;
  }
  capacity_ = static_cast<size_t>(size);
}

Result<std::optional<size_t>> SplicePipe::fill_from(int src_fd) {
  size_t room = capacity_ - buffered_;
  if (room == 0) return std::nullopt;
  for (;;) {
    ssize_t n = ::splice(src_fd, nullptr, write_end_.get(), nullptr, room,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) {
      buffered_ += static_cast<size_t>(n);
      // Half full or more in one go (the pipe's slots, one per page fragment, may run out well
      // before its bytes): a bulk transfer, which takes fewer calls per byte in a larger pipe.
      if (buffered_ * 2 >= capacity_ && capacity_ < max_capacity_) grow();
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return std::nullopt;
    return fail_errno("read");
  }
}

Result<size_t> SplicePipe::drain_to(int dst_fd) {
  if (buffered_ == 0) return 0;
  for (;;) {
    ssize_t n = ::splice(read_end_.get(), nullptr, dst_fd, nullptr, buffered_,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) {
      buffered_ -= static_cast<size_t>(n);
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return 0;
    return fail_errno("write");
  }
}

}  // namespace slipway::netns
