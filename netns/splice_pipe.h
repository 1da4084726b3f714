// A kernel pipe used as the buffer between two sockets: splice(2) moves page references from one
// socket into it and out to the other, so forwarded bytes are never copied through user space.
#pragma once

#include <cstddef>
#include <optional>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::netns {

class SplicePipe {
 public:
  // A non-blocking pipe of the kernel's default size (64 KiB). It grows, up to max_capacity, each
  // time one read fills half of it or more, so bulk streams get few large splices while the many
  // quiet request/response connections keep small buffers. Growth stops quietly where the kernel
  // refuses it (an unprivileged user past pipe-user-pages-soft): slower, still correct.
  static Result<SplicePipe> make(size_t max_capacity);

  SplicePipe() = default;
  SplicePipe(SplicePipe&&) = default;
  SplicePipe& operator=(SplicePipe&&) = default;

  // Moves what src has ready into the pipe, up to the free space. nullopt: src has nothing now
  // (or the pipe's slots are full); 0: src reached end of stream.
  Result<std::optional<size_t>> fill_from(int src_fd);
  // Moves buffered bytes out to dst; 0 when dst would block.
  Result<size_t> drain_to(int dst_fd);

  bool valid() const { return static_cast<bool>(read_end_); }
  size_t buffered() const { return buffered_; }
  size_t capacity() const { return capacity_; }
  // Still at the kernel's default size: cheap to keep for another connection.
  bool grown() const { return capacity_ > initial_capacity_; }
  bool empty() const { return buffered_ == 0; }
  bool full() const { return buffered_ >= capacity_; }

 private:
  UniqueFd read_end_;
  UniqueFd write_end_;
  void grow();

  size_t capacity_ = 0;
  size_t initial_capacity_ = 0;
  size_t max_capacity_ = 0;
  size_t buffered_ = 0;
};

}  // namespace slipway::netns
