#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace slipway::log {
namespace {

Level level_from_env() {
  const char* v = std::getenv("SLIPWAY_LOG");
  if (!v) return Level::kWarn;
  std::string_view s = v;
  if (s == "error") return Level::kError;
  if (s == "info") return Level::kInfo;
  if (s == "debug") return Level::kDebug;
  return Level::kWarn;
}

std::atomic<int> g_level{static_cast<int>(level_from_env())};

}  // namespace

Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
void set_level(Level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }

void write(Level l, std::string_view msg) {
  static constexpr std::string_view kNames[] = {"error", "warning", "info", "debug"};
  std::string line = fmt::format("slipway: {}: {}\n", kNames[static_cast<int>(l)], msg);
  // One write() per line so lines from threads and processes do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace slipway::log
