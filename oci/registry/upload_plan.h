// How a blob goes up: in one PUT when it is small, else in PATCH chunks of a fixed size (each
// with its Content-Range) and a closing PUT, so that a large layer is not one huge request.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace slipway::oci {

inline constexpr int64_t kDefaultChunkSize = int64_t{32} << 20;

struct ByteRange {
  int64_t offset = 0;
  int64_t size = 0;
  // The distribution API's Content-Range: "first-last", inclusive, no unit.
  std::string content_range() const;
  bool operator==(const ByteRange&) const = default;
};

struct UploadPlan {
  enum class Method { kMonolithic, kChunked };
  Method method = Method::kMonolithic;
  std::vector<ByteRange> chunks;  // kChunked only: consecutive, covering the whole blob
};

// Blobs larger than chunk_size go up in chunks of chunk_size, raised to min_chunk when the
// registry asks for a minimum (OCI-Chunk-Min-Length). chunk_size <= 0 means never chunk.
UploadPlan plan_upload(int64_t blob_size, int64_t chunk_size, int64_t min_chunk = 0);

}  // namespace slipway::oci
