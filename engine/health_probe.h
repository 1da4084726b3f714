// Runs a health check's command inside a running container: this binary's own `exec`, started as
// a new process (the monitor's process has threads, so it never enters the container itself),
// with its output captured and a kill at the check's timeout.
#pragma once

#include <string>

#include "runtime/health.h"

namespace slipway::engine {

runtime::HealthProbeResult run_health_probe(const std::string& root, const std::string& run_root,
                                            const std::string& container_id, const runtime::HealthCheck& check);

}  // namespace slipway::engine
