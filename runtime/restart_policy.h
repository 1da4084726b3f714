// `run -d --restart`: whether the supervisor of a detached container starts it again when it
// exits, and after how long. Docker's policies and back-off.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::runtime {

struct RestartPolicy {
  enum class When { kNo, kOnFailure, kAlways, kUnlessStopped };
  When when = When::kNo;
  int max_retries = 0;  // on-failure:N; 0: no limit
};

// "no", "on-failure[:N]", "always", "unless-stopped".
Result<RestartPolicy> parse_restart_policy(std::string_view text);
std::string to_string(const RestartPolicy& p);

// After an exit with exit_code, having restarted `restarts` times already: again? Never once
// someone stopped or killed it on purpose (stop, kill, rm -f).
bool should_restart(const RestartPolicy& p, int exit_code, int restarts, bool stop_requested);

// Docker's back-off: 100 ms, doubled at each restart, at most a minute; a run that lasted 10 s
// or more starts the sequence over (the caller resets `restarts_in_a_row`).
std::chrono::milliseconds restart_delay(int restarts_in_a_row);
inline constexpr std::chrono::seconds kRestartResetAfter{10};

}  // namespace slipway::runtime
