// Artifacts and test reports of a step: files of the workspace matched by glob patterns, copied
// into the run directory after the step (also when it failed). The workspace was written by the
// step's containers, so it is walked without following any symlink, only regular files are
// copied (as plain 0644 files), and the walk and the copy are bounded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

struct ArtifactLimits {
  uint64_t max_bytes = uint64_t{1} << 30;  // what one step may copy, in all
  size_t max_files = 10000;
  size_t max_entries = 200000;  // directory entries the walk may visit
};

struct CollectedFiles {
  std::vector<std::string> files;  // relative paths, sorted
  uint64_t bytes = 0;
  std::string truncated;  // why the copy stopped early, if it did
};

// Whether relative path `path` is matched by `pattern`: fnmatch with '*' not crossing '/', except
// in a pattern holding "**", where it does; a pattern naming a directory matches all below it.
bool artifact_matches(const std::string& pattern, const std::string& path);

// Copies the files of `workspace` that the patterns match into `dest` (created), keeping their
// relative paths. Symlinks, devices, FIFOs and sockets are skipped.
Result<CollectedFiles> collect_files(const std::string& workspace, const std::vector<std::string>& patterns,
                                     const std::string& dest, const ArtifactLimits& limits = {});

}  // namespace slipway::pipeline
