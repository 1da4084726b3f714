#include "oci/registry/retry.h"

#include <algorithm>
#include <charconv>

namespace slipway::oci {

bool RetryPolicy::retries_status(long status) const {
  // 501 says the registry does not implement the request at all: asking again changes nothing.
  return status == 429 || status == 408 || (status >= 500 && status <= 599 && status != 501);
}

bool RetryPolicy::retries_failure(TransportFailure failure) const {
  switch (failure) {
    case TransportFailure::kConnect:
    case TransportFailure::kDropped:
    case TransportFailure::kTimeout:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds RetryPolicy::delay(
    int attempt, std::optional<std::chrono::seconds> retry_after) const {
  if (retry_after)
    return std::min(std::chrono::duration_cast<std::chrono::milliseconds>(*retry_after), max_delay);
  auto d = first_delay;
  for (int i = 1; i < attempt && d < max_delay; ++i) d *= 2;
  return std::min(d, max_delay);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  int64_t secs = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
  if (ec != std::errc() || end != value.data() + value.size() || secs < 0) return std::nullopt;
  return std::chrono::seconds(secs);
}

}  // namespace slipway::oci
