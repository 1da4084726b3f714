// The ContainerBackend of a real run: containers are changed by child `slipway` processes
// (slipway_process.h), so a killed runner takes them along; lookups read the stores directly.
#pragma once

#include "pipeline/container_backend.h"

namespace slipway::pipeline {

class SlipwayBackend final : public ContainerBackend {
 public:
  explicit SlipwayBackend(SlipwayInvocation how) : how_(std::move(how)) {}

  Result<int> run(RunOptions options, int log_fd) override;
  Result<StepContainer> start(RunOptions options, int log_fd, const std::string& log_path) override;
  bool running(StepContainer& container) override;
  void stop(StepContainer& container, int log_fd) override;
  Result<ContainerInfo> start_detached(RunOptions options, int log_fd, const std::string& log_path) override;
  Result<std::optional<ContainerInfo>> find(const std::string& name) const override;
  Result<std::vector<ContainerInfo>> list() const override;
  Status remove(const std::string& name, int log_fd) override;
  Status set_dns_names(const ContainerInfo& container, std::vector<std::string> names) override;
  std::string last_words(const std::string& id) const override;
  Status ensure_network(const ServiceSetSpec& set) override;
  Result<bool> has_image(const std::string& image) const override;
  Result<int> build(const BuildRequest& request, int log_fd) override;
  Result<int> push(const PushRequest& request, int log_fd) override;
  Status wait_until_healthy(const std::string& id, double timeout_seconds,
                            const std::function<bool()>& alive) override;
  Status wait_until_ready(const ReadinessProbe& probe, const std::string& host, pid_t netns_of,
                          const std::function<bool()>& alive) override;
  void clean_up_interrupted(const std::string& marker) override;

  const SlipwayInvocation& invocation() const { return how_; }

 private:
  Result<ContainerInfo> wait_until_running(ChildProcess& process, const std::string& name,
                                           const std::string& log_path) const;
  Result<int> slipway(const std::vector<std::string>& args, int log_fd) const;
  SlipwayInvocation how_;
};

}  // namespace slipway::pipeline
