#include "oci/layer/stream.h"

#include <fcntl.h>

#include <algorithm>

#include "oci/libarchive.h"

namespace slipway::oci {

Result<std::unique_ptr<LayerStream>> LayerStream::open(int fd) {
  std::unique_ptr<LayerStream> s(new LayerStream());
  s->fd_ = UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!s->fd_) return fail_errno("duplicate layer blob fd");
  s->archive_ = archive_read_new();
  if (!s->archive_) return fail("decompress layer: libarchive could not allocate a reader");
  // Only filters that recognise a stream by its magic bytes: anything else is read as plain tar.
  archive_read_support_filter_gzip(s->archive_);
  archive_read_support_filter_zstd(s->archive_);
  archive_read_support_filter_xz(s->archive_);
  archive_read_support_filter_bzip2(s->archive_);
  archive_read_support_format_raw(s->archive_);
  if (archive_read_open_fd(s->archive_, s->fd_.get(), kArchiveBlock) != ARCHIVE_OK)
    return fail("decompress layer: {}",
                archive_message(s->archive_, "unrecognized or truncated compressed stream"));
  struct archive_entry* entry = nullptr;
  int r = archive_read_next_header(s->archive_, &entry);
  if (r == ARCHIVE_EOF) return fail("decompress layer: the blob is empty");
  if (r < ARCHIVE_WARN)
    return fail("decompress layer: {}", archive_message(s->archive_, "unreadable stream"));
  for (size_t i = 0; i < kChunks; ++i) {
    s->data_[i] = std::make_unique<char[]>(kChunkSize);
    s->free_.push_back(i);
  }
  s->ready_.reserve(kChunks);
  s->free_.reserve(kChunks);
  s->thread_ = std::thread([p = s.get()] { p->produce(); });
  return s;
}

LayerStream::~LayerStream() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (archive_) archive_read_free(archive_);
}

void LayerStream::produce() {
  // Only this thread touches archive_ and hash_ until done_ is set.
  for (;;) {
    size_t idx;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      idx = free_.front();
      free_.erase(free_.begin());
    }
    char* buf = data_[idx].get();
    size_t filled = 0;
    bool end = false;
    std::optional<std::string> failure;
    while (filled < kChunkSize) {
      la_ssize_t n = archive_read_data(archive_, buf + filled, kChunkSize - filled);
      if (n < 0) {
        failure = archive_message(archive_, "corrupt compressed data");
        break;
      }
      if (n == 0) {
        end = true;
        break;
      }
      filled += static_cast<size_t>(n);
    }
    hash_.update(buf, filled);
    std::string digest;
    uint64_t size = hash_.size();
    if (end) digest = hash_.finish();
    {
      std::lock_guard lock(mu_);
      sizes_[idx] = filled;
      if (filled > 0)
        ready_.push_back(idx);
      else
        free_.push_back(idx);
      if (failure) error_ = Error(0, "decompress layer: " + *failure);
      if (end) summary_ = Summary{std::move(digest), size};
      done_ = end || failure.has_value();
    }
    cv_.notify_all();
    if (end || failure) return;
  }
}

Result<std::span<const char>> LayerStream::next() {
  std::unique_lock lock(mu_);
  if (held_ >= 0) {
    free_.push_back(static_cast<size_t>(held_));
    held_ = -1;
    cv_.notify_all();
  }
  cv_.wait(lock, [&] { return done_ || !ready_.empty(); });
  if (!ready_.empty()) {
    size_t idx = ready_.front();
    ready_.erase(ready_.begin());
    held_ = static_cast<int>(idx);
    return std::span<const char>(data_[idx].get(), sizes_[idx]);
  }
  if (error_) return std::unexpected(*error_);
  return std::span<const char>();
}

Result<LayerStream::Summary> LayerStream::finish() {
  for (;;) {
    auto chunk = SLW_TRY(next());
    if (chunk.empty()) break;
  }
  std::lock_guard lock(mu_);
  return summary_;
}

}  // namespace slipway::oci
