// Caches of pipeline steps: directories (pip, npm, ccache, go build) kept from run to run under
// <root>/pipelines/caches/<key>/, one per expanded key (cache_key.h). A step holds its caches'
// locks while it runs, so two runs (or two steps) that use one key at once take turns instead of
// writing into one directory together; each path of the step is a directory there, bind-mounted
// read-write into its containers. `gc --cache-max SIZE` removes the least recently used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/file_lock.h"

namespace slipway::pipeline {

std::string caches_dir(const std::string& root);

struct CacheRequest {
  std::string key;                   // expanded
  std::vector<std::string> paths;    // absolute paths in the container
};

struct CacheMount {
  std::string host_dir;
  std::string container_path;
};

// The caches of one step, locked until it is destroyed.
struct CacheLease {
  std::vector<FileLock> locks;
  std::vector<CacheMount> mounts;
  std::vector<std::string> notes;  // "cache pip-0a1b: hit (12.0 MB)" or "...: new", for the log
};

// Locks each key (in sorted order: no two steps wait on each other) and makes its directories.
// Marks each as used now, for the LRU order of prune_caches.
Result<CacheLease> lease_caches(const std::string& root, const std::vector<CacheRequest>& requests);

struct PrunedCache {
  std::string key;
  uint64_t bytes = 0;
};

// Removes the least recently used caches until all of them take at most max_bytes; caches in use
// (locked) stay.
Result<std::vector<PrunedCache>> prune_caches(const std::string& root, uint64_t max_bytes);

// Bytes of regular files under dir (no symlink followed, no mount crossed).
uint64_t directory_bytes(const std::string& dir);

}  // namespace slipway::pipeline
