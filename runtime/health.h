// Health checks as Docker's (--health-cmd, HEALTHCHECK): the process that waits for a container
// runs its probe command inside it every interval and keeps State.Health: "starting" until the
// first success, "healthy", or "unhealthy" after `retries` failures in a row. Failures in the
// start period do not count. The state is its own file, written only by that process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace slipway::runtime {

struct HealthCheck {
  std::vector<std::string> test;  // {"CMD", args...} or {"CMD-SHELL", command}
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds start_period{0};
  std::chrono::milliseconds start_interval{5000};  // between probes during the start period
  int retries = 3;
};

struct HealthProbeResult {
  std::string start, end;  // RFC 3339
  int exit_code = 0;       // 0 healthy; anything else (a timeout: -1) a failure
  std::string output;      // stdout and stderr, at most kHealthOutputLimit bytes
};
inline constexpr size_t kHealthOutputLimit = 4096;
inline constexpr size_t kHealthLogEntries = 5;

struct HealthState {
  std::string status = "starting";  // starting | healthy | unhealthy
  int failing_streak = 0;
  std::vector<HealthProbeResult> log;  // the last kHealthLogEntries probes, oldest first
};

// The state after one probe. `in_start_period`: failures there change nothing but the log.
HealthState after_probe(HealthState state, const HealthCheck& check, HealthProbeResult result,
                        bool in_start_period);

// Runs probes on a thread of its own until stopped: first after one (start) interval, then as
// the check says; each new state goes to `save`. `probe` runs the check's command in the
// container (with its timeout) and is called on that thread only.
class HealthMonitor {
 public:
  using Probe = std::function<HealthProbeResult(const HealthCheck&)>;
  using Save = std::function<void(const HealthState&)>;
  HealthMonitor(HealthCheck check, Probe probe, Save save);
  ~HealthMonitor();  // stops and joins
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

 private:
  void run();
  HealthCheck check_;
  Probe probe_;
  Save save_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace slipway::runtime
