// The builder's layer cache under the store root: R/build-cache/<key hex>.json says which layer
// blob (or no layer at all) a step produced. A key hashes the step's parent key and everything
// that decides the step's result, so a hit needs neither a container nor a copy. Entries do not
// keep blobs alive: `image rm` may collect a blob, and its entry then reads as a miss.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/store/blob_store.h"
#include "oci/image_spec.h"

namespace slipway::oci {

// Bumped when what a step writes changes, so older entries stop matching.
inline constexpr int kBuildCacheVersion = 1;

// "sha256:..." of the parent key and the step, as canonical JSON (sorted keys, no whitespace).
std::string cache_key(std::string_view parent, const nlohmann::json& step);

struct CachedLayer {
  Descriptor blob;  // media type, digest, size
  std::string diff_id;
  int64_t tar_size = 0;
  bool operator==(const CachedLayer& o) const {
    return blob.media_type == o.blob.media_type && blob.digest == o.blob.digest &&
           blob.size == o.blob.size && diff_id == o.diff_id && tar_size == o.tar_size;
  }
};

struct CacheEntry {
  std::optional<CachedLayer> layer;  // nullopt: the step changed nothing
  bool operator==(const CacheEntry&) const = default;
};

class BuildCache {
 public:
  // dir: R/build-cache, created on first store.
  explicit BuildCache(std::string dir) : dir_(std::move(dir)) {}

  // The entry for key if there is one whose blob is still in `blobs`; a damaged entry is a miss.
  std::optional<CacheEntry> lookup(std::string_view key, const BlobStore& blobs) const;
  Status store(std::string_view key, const CacheEntry& entry) const;

 private:
  std::string path(std::string_view key) const;
  std::string dir_;
};

}  // namespace slipway::oci
