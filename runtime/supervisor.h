// Container lifetimes: a foreground run (the calling process waits) or a detached one (a small
// supervisor process, the same binary, stays the parent of PID 1 and records its exit and logs).
#pragma once

#include <chrono>
#include <optional>

#include "base/error.h"
#include "runtime/container_store.h"
#include "runtime/launcher.h"

namespace slipway::runtime {

// What the composing layer (pipeline/) attaches to a container's lifetime. All run in the process
// that waits for the container: `slipway run` itself, or the detached supervisor.
struct ContainerHooks {
  // In the parent before the child execs (networking).
  std::function<Status(pid_t pid)> before_exec;
  // Once PID 1 runs (port forwarders start here); an error stops the container.
  std::function<Status(const StartedContainer&)> started;
  // Between an exit and a restart (--restart): what lived only as long as that run (forwarders).
  std::function<void()> stopped;
  // After the container exited or failed to start (leases released, forwarders stopped).
  std::function<void()> finished;
  // Runs a health check's command inside the running container (record.health), on the health
  // monitor's thread; without it no health is kept.
  std::function<HealthProbeResult(const HealthCheck&)> health_probe;
  // pidfd of the network holder for --net container:X (see WaitOptions::holder_pidfd).
  std::function<int()> holder_pidfd;
};

// Starts the container, records it as running, waits (forwarding signals, applying the record's
// timeout), records the exit, removes cgroup and, for auto_remove records, the whole record.
// stdio: what the container's stdio is copied to and from (a terminal with spec.process.terminal).
Result<ExitStatus> run_foreground(const ContainerStore& store, const ContainerRecord& record,
                                  const ContainerHooks& hooks = {}, StdioTargets stdio = {});

// Forks a supervisor that starts the container with stdout/stderr going to log files and returns
// once the container has started (or failed to). The caller may exit right away. The supervisor
// restarts the container as record.restart says. Its stdin is
// empty, or held open for records with open_stdin.
Status run_detached(const ContainerStore& store, const ContainerRecord& record,
                    const ContainerHooks& hooks = {});

// A -d container's output: in its data dir (on disk), or its state dir for records without one.
std::string stdout_log(const ContainerStore& store, const ContainerRecord& record);
std::string stderr_log(const ContainerStore& store, const ContainerRecord& record);

}  // namespace slipway::runtime
