// `slipway gc`: what killed slipway processes left behind, across runtime and networks.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_store.h"

namespace slipway::pipeline {

struct GarbageReport {
  std::vector<std::string> containers;  // records cleaned up (cgroups removed, marked exited)
  std::vector<std::string> leases;      // "network/ip" leases whose owner was dead
  std::vector<std::string> links;       // host veths of dead containers
  std::vector<std::string> runs;        // pipeline runs whose runner was killed, now marked failed
  std::vector<std::string> partial;     // half-written blobs and build dirs of killed processes
  std::vector<std::string> data_dirs;   // containers' data on disk whose record is gone (reboot)
  std::vector<std::string> network_files;  // files of removed networks, half-written network files
};

// Only this root's containers and leases are touched: parallel roots never clean up each other.
Result<GarbageReport> collect_garbage(const std::string& root, const runtime::ContainerStore& store);

}  // namespace slipway::pipeline
