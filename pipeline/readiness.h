// Waiting until a started container serves: TCP connects (or HTTP GETs) every probe interval
// until one succeeds, the deadline passes, or the container dies.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"
#include "pipeline/pipeline_spec.h"

namespace slipway::pipeline {

// One attempt: connects to host:probe.port and, for an HTTP probe, sends a GET of the path and
// wants a 2xx or 3xx status line. Fails with what went wrong ("connect 10.0.0.2:80: refused").
Status probe_once(const ReadinessProbe& probe, const std::string& host);

// Probes until success. `alive` is asked between attempts; once it says false the wait fails at
// once ("exited before it was ready"). `netns_fd` >= 0: the probes run in that network namespace
// (a networkholder's), else in the caller's.
Status wait_until_ready(const ReadinessProbe& probe, const std::string& host, int netns_fd,
                        const std::function<bool()>& alive);

}  // namespace slipway::pipeline
