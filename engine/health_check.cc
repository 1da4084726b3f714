#include "engine/health_check.h"

#include <charconv>
#include <cmath>

namespace slipway::engine {

Result<std::chrono::milliseconds> parse_go_duration(std::string_view text, std::string_view flag) {
  auto bad = [&] { return fail("invalid {} \"{}\": use a duration such as 30s, 1m30s or 500ms", flag, text); };
  if (text.empty()) return bad();
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && (std::isdigit(static_cast<unsigned char>(rest[n])) || rest[n] == '.')) ++n;
    if (n == 0) return bad();
    double value = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + n, value);
    if (ec != std::errc() || end != rest.data() + n) return bad();
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && std::isalpha(static_cast<unsigned char>(rest[u]))) ++u;
    std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    double scale;
    if (unit == "ns") scale = 1e-6;
    else if (unit == "us" || unit == "µs") scale = 1e-3;
    else if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60000;
    else if (unit == "h") scale = 3600000;
    else return bad();
    total_ms += value * scale;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(total_ms)));
}

namespace {

std::chrono::milliseconds from_ns(int64_t ns, std::chrono::milliseconds fallback) {
  return ns > 0 ? std::chrono::milliseconds(ns / 1000000) : fallback;
}

// Docker refuses intervals under a millisecond; 0 means "the default".
Result<std::chrono::milliseconds> timing(const std::string& flag_value, std::string_view flag,
                                         std::chrono::milliseconds fallback) {
  if (flag_value.empty()) return fallback;
  auto d = SLW_TRY(parse_go_duration(flag_value, flag));
  return d.count() == 0 ? fallback : d;
}

}  // namespace

Result<std::optional<runtime::HealthCheck>> resolve_health_check(const RunOptions& o,
                                                                 const std::optional<oci::Healthcheck>& image) {
  bool any_flag = !o.health_cmd.empty() || !o.health_interval.empty() || !o.health_timeout.empty() ||
                  !o.health_start_period.empty() || !o.health_start_interval.empty() || o.health_retries;
  if (o.no_healthcheck) {
    if (any_flag) return fail("--no-healthcheck conflicts with the --health-* options");
    return std::optional<runtime::HealthCheck>();
  }
  runtime::HealthCheck c;
  if (image) {
    c.interval = from_ns(image->interval_ns, c.interval);
    c.timeout = from_ns(image->timeout_ns, c.timeout);
    c.start_period = from_ns(image->start_period_ns, c.start_period);
    c.start_interval = from_ns(image->start_interval_ns, c.start_interval);
    if (image->retries > 0) c.retries = image->retries;
    if (!image->test.empty() && image->test[0] != "NONE") c.test = image->test;
  }
  if (!o.health_cmd.empty()) c.test = {"CMD-SHELL", o.health_cmd};
  c.interval = SLW_TRY(timing(o.health_interval, "--health-interval", c.interval));
  c.timeout = SLW_TRY(timing(o.health_timeout, "--health-timeout", c.timeout));
  c.start_period = SLW_TRY(timing(o.health_start_period, "--health-start-period", c.start_period));
  c.start_interval = SLW_TRY(timing(o.health_start_interval, "--health-start-interval", c.start_interval));
  if (o.health_retries) {
    if (*o.health_retries < 0) return fail("invalid --health-retries {}: must be >= 0", *o.health_retries);
    if (*o.health_retries > 0) c.retries = *o.health_retries;
  }
  if (c.test.empty()) {
    if (any_flag) return fail("--health-* options need a command: give --health-cmd (the image has no HEALTHCHECK)");
    return std::optional<runtime::HealthCheck>();
  }
  if ((c.test[0] != "CMD" && c.test[0] != "CMD-SHELL") || c.test.size() < 2 ||
      (c.test[0] == "CMD-SHELL" && c.test.size() != 2))
    return fail("the image's HEALTHCHECK test {} is not CMD or CMD-SHELL with a command", c.test[0]);
  return std::optional<runtime::HealthCheck>(std::move(c));
}

}  // namespace slipway::engine
