// When a registry request is tried again: on 5xx, 429 and dropped or refused connections, with
// exponential backoff, a bounded number of times; never on other 4xx, which a retry cannot fix.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace slipway::oci {

// How a request failed below HTTP.
enum class TransportFailure {
  kNone,
  kConnect,  // nothing listening, host unreachable
  kDropped,  // the connection broke mid-request or the server sent nothing
  kTimeout,
  kResolve,  // DNS: retrying soon rarely helps
  kTls,      // certificate or handshake problems: retrying never helps
  kAborted,  // we stopped it (bad content, a full disk)
  kOther,
};

struct RetryPolicy {
  int max_attempts = 4;
  std::chrono::milliseconds first_delay{200};
  std::chrono::milliseconds max_delay{5000};

  bool retries_status(long status) const;
  bool retries_failure(TransportFailure failure) const;
  // The wait after failed attempt number `attempt` (1-based): first_delay doubled each time, or
  // the server's Retry-After when it gave one, both capped at max_delay.
  std::chrono::milliseconds delay(int attempt,
                                  std::optional<std::chrono::seconds> retry_after = {}) const;
};

// Retry-After in its delta-seconds form; HTTP dates are not worth a parser here.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

}  // namespace slipway::oci
