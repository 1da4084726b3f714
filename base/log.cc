#include "base/log.h"

#include <unistd.h>

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

}  // namespace

Level level() {
  static const Level from_env = level_from_env();
  return from_env;
}

void write(Level l, std::string_view msg) {
  static constexpr std::string_view kNames[] = {"error", "warning", "info", "debug"};
  std::string line = fmt::format("slipway: {}: {}\n", kNames[static_cast<int>(l)], msg);
  // One write() per line so lines from threads and processes do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace slipway::log
