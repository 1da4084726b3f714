#include "runtime/health.h"

#include <pthread.h>
#include <signal.h>

namespace slipway::runtime {

HealthState after_probe(HealthState state, const HealthCheck& check, HealthProbeResult result,
                        bool in_start_period) {
  bool ok = result.exit_code == 0;
  state.log.push_back(std::move(result));
  if (state.log.size() > kHealthLogEntries) state.log.erase(state.log.begin());
  if (ok) {
    state.status = "healthy";
    state.failing_streak = 0;
  } else if (!in_start_period || state.status != "starting") {
    ++state.failing_streak;
    if (state.failing_streak >= std::max(check.retries, 1)) state.status = "unhealthy";
  }
  return state;
}

HealthMonitor::HealthMonitor(HealthCheck check, Probe probe, Save save)
    : check_(std::move(check)), probe_(std::move(probe)), save_(std::move(save)) {
  save_(HealthState{});
  // Born with every signal blocked: they belong to the thread that waits for the container.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { run(); });
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

HealthMonitor::~HealthMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HealthMonitor::run() {
  using Clock = std::chrono::steady_clock;
  const auto start_period_ends = Clock::now() + check_.start_period;
  HealthState state;
  for (;;) {
    bool starting = state.status == "starting" && Clock::now() < start_period_ends;
    auto delay = starting && check_.start_period.count() > 0 ? check_.start_interval : check_.interval;
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, delay, [this] { return stopping_; })) return;
    }
    bool in_start_period = Clock::now() < start_period_ends;
    HealthProbeResult result = probe_(check_);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // the container is gone: its last probe says nothing
    }
    state = after_probe(std::move(state), check_, std::move(result), in_start_period);
    save_(state);
  }
}

}  // namespace slipway::runtime
