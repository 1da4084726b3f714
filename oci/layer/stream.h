// The uncompressed bytes of a layer blob (plain tar, gzip, zstd, xz or bzip2, told apart by their
// magic bytes), decompressed and hashed on a helper thread so that the tar reader on the calling
// thread overlaps with decompression the way `tar -xzf` overlaps with its gzip child.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/digest.h"

struct archive;

namespace slipway::oci {

class LayerStream {
 public:
  struct Summary {
    std::string digest;  // "sha256:..." of the uncompressed bytes (the diff_id)
    uint64_t size = 0;   // uncompressed bytes
  };

  // Reads fd (a dup is taken; the caller keeps its own) from its current offset to the end.
  static Result<std::unique_ptr<LayerStream>> open(int fd);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // The next chunk of uncompressed bytes, valid until the following call; empty at the end.
  Result<std::span<const char>> next();
  // Reads whatever the consumer left (a tar reader stops at the end-of-archive blocks), then
  // returns the digest and size of the whole uncompressed stream.
  Result<Summary> finish();

 private:
  static constexpr size_t kChunks = 4;
  static constexpr size_t kChunkSize = 1 << 20;

  LayerStream() = default;
  void produce();

  UniqueFd fd_;
  struct archive* archive_ = nullptr;
  std::array<std::unique_ptr<char[]>, kChunks> data_;
  std::array<size_t, kChunks> sizes_{};
  // Chunk indexes waiting to be filled and filled ones waiting to be read, oldest first.
  std::vector<size_t> free_, ready_;
  int held_ = -1;  // chunk the consumer is reading
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // producer reached the end or failed
  bool stop_ = false;
  std::optional<Error> error_;
  Sha256 hash_;
  Summary summary_;
  std::thread thread_;
};

}  // namespace slipway::oci
