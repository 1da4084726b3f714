// An in-memory pipeline::ContainerBackend: containers, networks and images are map entries, and
// every call is recorded as one line in `events` ("run smoke-1a2b3c-unit", "remove ..."), so the
// engine's skip rules, deploy swap, readiness failures and interrupts are tested without root.
// Behaviour is set through the std::function members; the defaults make every step pass. The
// public members are for the test to read once the run is over.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "pipeline/container_backend.h"

namespace slipway::testing {

class FakeBackend final : public pipeline::ContainerBackend {
 public:
  using RunOptions = pipeline::RunOptions;
  using ContainerInfo = pipeline::ContainerInfo;

  // Exit status of a container that `run` runs to its end.
  std::function<int(const RunOptions&)> on_run = [](const RunOptions&) { return 0; };
  // What such a container prints, in the pieces it writes them (to the step's log).
  std::function<std::vector<std::string>(const RunOptions&)> prints = [](const RunOptions&) {
    return std::vector<std::string>{};
  };
  // Exit status of a build; a build that exits 0 adds its image.
  std::function<int(const pipeline::BuildRequest&)> on_build = [](const pipeline::BuildRequest&) { return 0; };
  // Whether the container serves at host (its address, or 127.0.0.1 in a holder's namespace).
  std::function<bool(const ContainerInfo& container, const std::string& host)> serves =
      [](const ContainerInfo&, const std::string&) { return true; };

  // The health a container's check settles on (its options carry a --health-cmd).
  std::function<std::string(const ContainerInfo& container)> health = [](const ContainerInfo&) {
    return std::string("healthy");
  };

  std::vector<std::string> events;
  std::set<std::string> images;
  std::set<std::string> networks;
  std::vector<pipeline::BuildRequest> builds;
  std::vector<pipeline::PushRequest> pushes;
  std::vector<RunOptions> started;  // options of every container started, by any call

  // The containers there now, by name.
  std::map<std::string, ContainerInfo> containers;

  Result<int> run(RunOptions options, int log_fd) override;
  Result<pipeline::StepContainer> start(RunOptions options, int log_fd, const std::string& log_path) override;
  bool running(pipeline::StepContainer& container) override;
  void stop(pipeline::StepContainer& container, int log_fd) override;
  Result<ContainerInfo> start_detached(RunOptions options, int log_fd, const std::string& log_path) override;
  Result<std::optional<ContainerInfo>> find(const std::string& name) const override;
  Result<std::vector<ContainerInfo>> list() const override;
  Status remove(const std::string& name, int log_fd) override;
  Status set_dns_names(const ContainerInfo& container, std::vector<std::string> names) override;
  std::string last_words(const std::string& id) const override;
  Status ensure_network(const pipeline::ServiceSetSpec& set) override;
  Result<bool> has_image(const std::string& image) const override;
  Result<int> build(const pipeline::BuildRequest& request, int log_fd) override;
  Result<int> push(const pipeline::PushRequest& request, int log_fd) override;
  Status wait_until_healthy(const std::string& id, double timeout_seconds,
                            const std::function<bool()>& alive) override;
  Status wait_until_ready(const pipeline::ReadinessProbe& probe, const std::string& host, pid_t netns_of,
                          const std::function<bool()>& alive) override;
  void clean_up_interrupted(const std::string& marker) override;

  // The container whose PID 1 is `pid`, if any.
  const ContainerInfo* by_pid(pid_t pid) const;

 private:
  Result<ContainerInfo> create(const RunOptions& options);
  int next_ = 0;
  // Every call takes it: the engine runs steps in parallel. The callbacks of run and build are
  // called without it.
  mutable std::recursive_mutex mu_;
};

}  // namespace slipway::testing
