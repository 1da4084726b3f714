#include "runtime/restart_policy.h"

#include <charconv>

namespace slipway::runtime {

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  RestartPolicy p;
  std::string_view name = text.substr(0, text.find(':'));
  std::string_view count = name.size() < text.size() ? text.substr(name.size() + 1) : std::string_view();
  if (name == "no") p.when = RestartPolicy::When::kNo;
  else if (name == "on-failure") p.when = RestartPolicy::When::kOnFailure;
  else if (name == "always") p.when = RestartPolicy::When::kAlways;
  else if (name == "unless-stopped") p.when = RestartPolicy::When::kUnlessStopped;
  else return fail("invalid --restart \"{}\": use no, on-failure[:N], always or unless-stopped", text);
  if (name.size() == text.size()) return p;
  if (p.when != RestartPolicy::When::kOnFailure)
    return fail("invalid --restart \"{}\": only on-failure takes a maximum retry count", text);
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), p.max_retries);
  if (ec != std::errc() || end != count.data() + count.size() || p.max_retries < 0)
    return fail("invalid --restart \"{}\": the maximum retry count must be a number >= 0", text);
  return p;
}

std::string to_string(const RestartPolicy& p) {
  switch (p.when) {
    case RestartPolicy::When::kNo: return "no";
    case RestartPolicy::When::kOnFailure: return "on-failure";
    case RestartPolicy::When::kAlways: return "always";
    case RestartPolicy::When::kUnlessStopped: return "unless-stopped";
  }
  return "no";
}

bool should_restart(const RestartPolicy& p, int exit_code, int restarts, bool stop_requested) {
  if (stop_requested) return false;
  switch (p.when) {
    case RestartPolicy::When::kNo: return false;
    case RestartPolicy::When::kOnFailure:
      return exit_code != 0 && (p.max_retries == 0 || restarts < p.max_retries);
    case RestartPolicy::When::kAlways:
    case RestartPolicy::When::kUnlessStopped: return true;
  }
  return false;
}

std::chrono::milliseconds restart_delay(int restarts_in_a_row) {
  constexpr std::chrono::milliseconds kFirst{100}, kMost{60000};
  std::chrono::milliseconds d = kFirst;
  for (int i = 0; i < restarts_in_a_row && d < kMost; ++i) d *= 2;
  return std::min(d, kMost);
}

}  // namespace slipway::runtime
