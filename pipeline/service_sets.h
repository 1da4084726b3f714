// `slipway services up|down|status SET`: the backend service containers of a pipeline file.
// `dev` runs on the host network at default ports (unit tests, laptops); `prodlike` gets its own
// bridge network with an address and a DNS name per service, and data from snapshot directories
// mounted copy-on-write, fresh on every start.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/container_backend.h"
#include "pipeline/pipeline_spec.h"

namespace slipway::pipeline {

// The container of one service, as `run` options. Snapshot sources relative to base_dir.
RunOptions service_run_options(const ServiceSetSpec& set, const ServiceSpec& service,
                               const std::string& base_dir);

// The probe that says a service is ready, if it has a port (or an explicit probe).
std::optional<ReadinessProbe> service_probe(const ServiceSpec& service);

struct ServiceStatus {
  std::string name;
  std::optional<ContainerInfo> container;  // nullopt: not created
  std::string address;                     // host:port it serves on, when running
};

// Where absolute snapshot sources must lie: $SLIPWAY_SNAPSHOT_DIR, else <root>/snapshots.
std::string host_snapshot_dir(const std::string& root);
// A snapshot source as a real host path: a relative one inside base_dir, an absolute one inside
// host_dir; neither ".." nor a symlink leads out.
Result<std::string> resolve_snapshot_source(const std::string& source, const std::string& base_dir,
                                            const std::string& host_dir);

class ServiceSets {
 public:
  // base_dir: where relative snapshot paths start; host_dir: where absolute ones must lie
  // (host_snapshot_dir); log_fd: where the child `slipway` commands write, a regular file at
  // log_path (its last line explains a failed start); pull: the pipeline file's pull policy.
  ServiceSets(ContainerBackend& backend, std::string base_dir, std::string host_dir, int log_fd,
              std::string log_path, std::string pull = "missing")
      : backend_(backend),
        base_dir_(std::move(base_dir)),
        host_dir_(std::move(host_dir)),
        log_fd_(log_fd),
        log_path_(std::move(log_path)),
        pull_(std::move(pull)) {}

  // Starts what is not running and waits until every service is ready. `fresh`: services with
  // snapshots are restarted even when running, so they start from the snapshot again.
  Status up(const ServiceSetSpec& set, bool fresh = false);
  // Removes the set's containers; the network stays (other runs may hold addresses on it).
  Status down(const ServiceSetSpec& set);
  Result<std::vector<ServiceStatus>> status(const ServiceSetSpec& set) const;

 private:
  Status start_service(const ServiceSetSpec& set, const ServiceSpec& service);

  ContainerBackend& backend_;
  std::string base_dir_;
  std::string host_dir_;
  int log_fd_;
  std::string log_path_;
  std::string pull_;
};

}  // namespace slipway::pipeline
