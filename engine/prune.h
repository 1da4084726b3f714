// Docker's prune commands over one root: `image prune` (images without a name, or with --all every
// image no container uses), `builder prune` (build-cache entries whose layer no image holds, or
// with --all every entry), and `system prune` (stopped containers, networks without containers
// other than the default one, then the images and the build cache as above). Blobs and unpacked
// layers nothing refers to any more go with them; layers a running container uses stay.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_store.h"

namespace slipway::engine {

struct PruneReport {
  std::vector<std::string> containers;       // ids
  std::vector<std::string> networks;         // names
  std::vector<std::string> untagged;         // image names
  std::vector<std::string> deleted;          // image ids
  std::vector<std::string> cache_entries;    // build-cache keys
  int64_t reclaimed_bytes = 0;               // blob bytes no longer stored
};

Result<PruneReport> prune_images(const std::string& root, const runtime::ContainerStore& containers, bool all);
Result<PruneReport> prune_build_cache(const std::string& root, bool all);
Result<PruneReport> prune_system(const std::string& root, const runtime::ContainerStore& containers, bool all);

}  // namespace slipway::engine
