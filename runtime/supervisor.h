// Container lifetimes: a foreground run (the calling process waits) or a detached one (a small
// supervisor process, the same binary, stays the parent of PID 1 and records its exit and logs).
#pragma once

#include <chrono>
#include <optional>

#include "base/error.h"
#include "runtime/container_store.h"
#include "runtime/launcher.h"

namespace slipway::runtime {

// Starts the container, records it as running, waits (forwarding signals, applying the record's
// timeout), records the exit, removes cgroup and, for auto_remove records, the whole record.
Result<ExitStatus> run_foreground(const ContainerStore& store, const ContainerRecord& record);

// Forks a supervisor that starts the container with stdout/stderr going to log files and returns
// once the container has started (or failed to). The caller may exit right away.
Status run_detached(const ContainerStore& store, const ContainerRecord& record);

std::string stdout_log(const ContainerStore& store, const std::string& id);
std::string stderr_log(const ContainerStore& store, const std::string& id);

}  // namespace slipway::runtime
