// Where blobs were last seen in registries: <root>/registry-blobs.json maps a blob digest to the
// "registry/repository" places it was pushed to or pulled from, so that pushing it to another
// repository of the same registry can mount it there instead of uploading it again. It is a
// cache: losing it costs uploads, never correctness.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

struct BlobLocationIndex {
  // digest -> "registry/repository" -> when it was last seen there (unix seconds)
  std::map<std::string, std::map<std::string, int64_t>> blobs;
};

inline constexpr size_t kMaxLocationsPerBlob = 8;
inline constexpr size_t kMaxBlobLocations = 20000;

Result<BlobLocationIndex> parse_blob_locations(std::string_view json);
std::string to_json(const BlobLocationIndex& index);

// Notes that registry/repository has digest; keeps the newest kMaxLocationsPerBlob places.
void record_blob_location(BlobLocationIndex& index, std::string_view digest,
                          std::string_view registry, std::string_view repository, int64_t now);
// Repositories of registry other than `except` known to have digest, most recently seen first.
std::vector<std::string> mount_candidates(const BlobLocationIndex& index, std::string_view digest,
                                          std::string_view registry, std::string_view except);
// Drops the blobs seen longest ago until at most max_blobs remain.
void trim_blob_locations(BlobLocationIndex& index, size_t max_blobs = kMaxBlobLocations);

// The file under a slipway root; several processes may record at once.
class BlobLocationFile {
 public:
  explicit BlobLocationFile(std::string root);

  // The current index; an unreadable or damaged file reads as empty (it is only a cache).
  BlobLocationIndex load() const;
  // Merges `seen` (from record_blob_location on an empty index) into the file under a lock.
  Status merge(const BlobLocationIndex& seen) const;

 private:
  std::string root_, path_, lock_path_;
};

}  // namespace slipway::oci
