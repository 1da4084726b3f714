// `slipway gc`, the pipeline side: runs whose runner was killed are marked failed, and the
// half-made checkouts, snapshot copies and mirror files it left go. The container side is
// engine/garbage.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/caches.h"

namespace slipway::pipeline {

struct RunGarbageReport {
  std::vector<std::string> runs;     // pipeline runs whose runner was killed, now marked failed
  std::vector<std::string> partial;  // staged runs, snapshot copies, mirror files, report files
};

Result<RunGarbageReport> collect_run_garbage(const std::string& root);

// `gc --keep-runs N --cache-max SIZE`: what a long-lived CI host sheds.
struct PruneRequest {
  std::optional<size_t> keep_runs;     // keep the newest N finished runs (running ones always stay)
  std::optional<uint64_t> cache_max;   // then caches, least recently used first, down to this size
};

struct PruneReport {
  std::vector<std::string> runs;             // run ids removed
  std::vector<std::string> snapshot_copies;  // commits whose snapshot copies went with them
  std::vector<PrunedCache> caches;
};

// Snapshot copies of a removed run's commit go too, unless a kept run has that commit or a
// container (a prodlike service that outlives its run) still mounts them.
Result<PruneReport> prune_pipelines(const std::string& root, const std::string& run_root, const PruneRequest& request);

}  // namespace slipway::pipeline
