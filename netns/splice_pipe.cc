#include "netns/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

namespace slipway::netns {

Result<SplicePipe> SplicePipe::make(size_t capacity) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return fail_errno("create pipe");
  SplicePipe pipe;
  pipe.read_end_ = UniqueFd(fds[0]);
  pipe.write_end_ = UniqueFd(fds[1]);
  int size = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(capacity));
  if (size < 0) size = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (size < 0) return fail_errno("get pipe size");
  pipe.capacity_ = static_cast<size_t>(size);
  return pipe;
}

Result<std::optional<size_t>> SplicePipe::fill_from(int src_fd) {
  size_t room = capacity_ - buffered_;
  if (room == 0) return std::nullopt;
  for (;;) {
    ssize_t n = ::splice(src_fd, nullptr, write_end_.get(), nullptr, room,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) {
      buffered_ += static_cast<size_t>(n);
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
