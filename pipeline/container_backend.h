// What the pipeline engine and service sets need from containers: run one to completion, start
// one for the length of a step, start one that outlives the runner, look one up, remove one.
// Changes go through child `slipway` processes (slipway_process.h); lookups read the stores.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/run_options.h"
#include "pipeline/slipway_process.h"

namespace slipway::pipeline {

struct ContainerInfo {
  std::string id;
  std::string name;
  std::string image;
  bool running = false;
  pid_t pid = 0;  // PID 1, in the host's pid namespace; 0 when not running
  std::string network;  // the bridge network it has an address on, if any
  std::string ip;       // its address there
  std::vector<std::string> dns_names;  // what the network's DNS answers for it
};

// A container whose `slipway run` is a child of this process: killed with it.
struct StepContainer {
  ChildProcess process;
  ContainerInfo info;
};

class ContainerBackend {
 public:
  explicit ContainerBackend(SlipwayInvocation how) : how_(std::move(how)) {}
  virtual ~ContainerBackend() = default;

  // Runs a container to its end (always --rm); its output goes to log_fd. Returns its exit status.
  virtual Result<int> run(RunOptions options, int log_fd);
  // Starts a named container (--rm) and returns once its PID 1 runs; fails with the log's last
  // line when it could not start.
  virtual Result<StepContainer> start(RunOptions options, int log_fd, const std::string& log_path);
  // `run -d`: a container that outlives this process (services, deployed apps).
  virtual Result<ContainerInfo> start_detached(RunOptions options, int log_fd, const std::string& log_path);
  // nullopt when no container has that name (or id).
  virtual Result<std::optional<ContainerInfo>> find(const std::string& name) const;
  virtual Result<std::vector<ContainerInfo>> list() const;
  // `rm -f`; a missing container is success.
  virtual Status remove(const std::string& name, int log_fd);
  // Replaces the names the container's network DNS answers for it.
  virtual Status set_dns_names(const ContainerInfo& container, std::vector<std::string> names);

  // Any other sub-command (build, push), output to log_fd; its exit status.
  Result<int> slipway(const std::vector<std::string>& args, int log_fd) const;
  const SlipwayInvocation& invocation() const { return how_; }

 private:
  Result<ContainerInfo> wait_until_running(ChildProcess& process, const std::string& name,
                                           const std::string& log_path) const;
  SlipwayInvocation how_;
};

// The last non-empty line of a log file: the one-line error a failed child printed.
std::string last_log_line(const std::string& path);

}  // namespace slipway::pipeline
