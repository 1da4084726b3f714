// A container's health check from `run`'s --health-* flags over the image's HEALTHCHECK.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "base/error.h"
#include "engine/run_options.h"
#include "oci/image_spec.h"
#include "runtime/health.h"

namespace slipway::engine {

// A Go duration as Docker's flags take it: "1m30s", "500ms", "1.5s", "2h"; `flag` names it in
// errors. Negative durations are refused.
Result<std::chrono::milliseconds> parse_go_duration(std::string_view text, std::string_view flag);

// nullopt: no health check (none anywhere, --no-healthcheck, or the image's NONE).
Result<std::optional<runtime::HealthCheck>> resolve_health_check(const RunOptions& options,
                                                                 const std::optional<oci::Healthcheck>& image);

}  // namespace slipway::engine
