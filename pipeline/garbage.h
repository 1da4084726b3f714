// `slipway gc`, the pipeline side: runs whose runner was killed are marked failed, and the
// half-made checkouts, snapshot copies and mirror files it left go. The container side is
// engine/garbage.h.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

struct RunGarbageReport {
  std::vector<std::string> runs;     // pipeline runs whose runner was killed, now marked failed
  std::vector<std::string> partial;  // staged runs, snapshot copies, mirror files, report files
};

Result<RunGarbageReport> collect_run_garbage(const std::string& root);

}  // namespace slipway::pipeline
