// What the pipeline engine and service sets need from containers, networks and images: run one to
// completion, start one for the length of a step, start one that outlives the runner, look one up,
// remove one; build and push images; wait until a container serves. SlipwayBackend
// (slipway_backend.h) does it with child `slipway` processes and the stores; the unit tests drive
// the engine on an in-memory fake (tests/support/fake_backend.h), without root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/pipeline_spec.h"
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
  std::string health;  // starting | healthy | unhealthy; empty without a health check
};

// A container that runs for the length of a step. With SlipwayBackend its `slipway run` is a
// child of this process, killed with it.
struct StepContainer {
  ContainerInfo info;
  ChildProcess process;  // none with a backend that has no child processes
};

// `slipway build` of the app image from a checkout; paths are resolved and inside the checkout.
struct BuildRequest {
  std::string image;  // tag
  std::string dockerfile;
  std::string context;
  std::string target;  // stage; empty: the last
  std::map<std::string, std::string> build_args;
  int64_t source_date_epoch = 0;  // the commit's time: builds of one commit are bit-identical
  std::string pull = "missing";   // FROM images: missing | always | never
};

struct PushRequest {
  std::string image;
  std::string destination;  // registry/repository:tag
  bool plain_http = false;
};

class ContainerBackend {
 public:
  virtual ~ContainerBackend() = default;

  // Runs a container to its end (always removed); its output goes to log_fd. Its exit status.
  virtual Result<int> run(RunOptions options, int log_fd) = 0;
  // Starts a named container (removed when it ends) and returns once its PID 1 runs; fails with
  // the log's last line when it could not start.
  virtual Result<StepContainer> start(RunOptions options, int log_fd, const std::string& log_path) = 0;
  // Whether a started step container still runs.
  virtual bool running(StepContainer& container) = 0;
  // Removes a step container and waits for its end.
  virtual void stop(StepContainer& container, int log_fd) = 0;
  // `run -d`: a container that outlives this process (services, deployed apps).
  virtual Result<ContainerInfo> start_detached(RunOptions options, int log_fd, const std::string& log_path) = 0;
  // nullopt when no container has that name (or id).
  virtual Result<std::optional<ContainerInfo>> find(const std::string& name) const = 0;
  virtual Result<std::vector<ContainerInfo>> list() const = 0;
  // `rm -f`; a missing container is success.
  virtual Status remove(const std::string& name, int log_fd) = 0;
  // Replaces the names the container's network DNS answers for it.
  virtual Status set_dns_names(const ContainerInfo& container, std::vector<std::string> names) = 0;
  // The last line a (detached) container wrote, stderr first: why it died. "" when none.
  virtual std::string last_words(const std::string& id) const = 0;

  // Creates the bridge network unless it exists (another runner may make it at the same time).
  virtual Status ensure_network(const ServiceSetSpec& set) = 0;

  virtual Result<bool> has_image(const std::string& image) const = 0;
  // The builder's exit status; its output goes to log_fd.
  virtual Result<int> build(const BuildRequest& request, int log_fd) = 0;
  virtual Result<int> push(const PushRequest& request, int log_fd) = 0;

  // Probes host:probe.port until it serves (readiness.h). `netns_of` > 0: from the network
  // namespace of that process (a networkholder's PID 1), else from the runner's. `alive` is asked
  // between attempts; once false the wait fails at once.
  virtual Status wait_until_ready(const ReadinessProbe& probe, const std::string& host, pid_t netns_of,
                                  const std::function<bool()>& alive) = 0;

  // Waits until the container's health check says healthy. Fails once it says unhealthy (with the
  // last probe's output), after timeout_seconds, or once `alive` is false.
  virtual Status wait_until_healthy(const std::string& id, double timeout_seconds,
                                    const std::function<bool()>& alive) = 0;

  // After an interrupt killed the step's children: waits until the containers whose names contain
  // `marker` are gone and cleans up their records.
  virtual void clean_up_interrupted(const std::string& marker) = 0;
};

// The last non-empty line of a log file: the one-line error a failed child printed.
std::string last_log_line(const std::string& path);

}  // namespace slipway::pipeline
