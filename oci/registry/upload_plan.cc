#include "oci/registry/upload_plan.h"

#include <fmt/core.h>

#include <algorithm>

namespace slipway::oci {

std::string ByteRange::content_range() const {
  return fmt::format("{}-{}", offset, offset + size - 1);
}

UploadPlan plan_upload(int64_t blob_size, int64_t chunk_size, int64_t min_chunk) {
  UploadPlan plan;
  if (chunk_size <= 0 || blob_size <= chunk_size) return plan;
  int64_t chunk = std::max(chunk_size, min_chunk);
  if (blob_size <= chunk) return plan;
  plan.method = UploadPlan::Method::kChunked;
  for (int64_t off = 0; off < blob_size; off += chunk)
    plan.chunks.push_back({off, std::min(chunk, blob_size - off)});
  return plan;
}

}  // namespace slipway::oci
