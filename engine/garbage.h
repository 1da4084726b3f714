// `slipway gc`, the container side: what killed `run`, `build` and `network` processes left
// behind in the runtime, the networks and the image store's staging area.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_store.h"

namespace slipway::engine {

struct GarbageReport {
  std::vector<std::string> containers;  // records cleaned up (cgroups removed, marked exited)
  std::vector<std::string> leases;      // "network/ip" leases whose owner was dead
  std::vector<std::string> links;       // host veths of dead containers
  std::vector<std::string> partial;     // half-written blobs, build dirs and records of killed processes
  std::vector<std::string> data_dirs;   // containers' data on disk whose record is gone (reboot)
  std::vector<std::string> network_files;  // files of removed networks, half-written network files
  std::vector<std::string> nftables_rules; // bridges whose nftables rules outlived them
};

// Only this root's containers and leases are touched: parallel roots never clean up each other.
Result<GarbageReport> collect_garbage(const std::string& root, const runtime::ContainerStore& store);

}  // namespace slipway::engine
