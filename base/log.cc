#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "base/clock_text.h"

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

std::atomic<int> g_level{-1};
std::atomic<int> g_extra_fd{-1};
std::atomic<bool> g_extra_json{false};

std::string json_line(std::string_view level, std::string_view msg) {
  nlohmann::json j = {{"level", level}, {"msg", msg}, {"time", now_rfc3339()}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

Level level() {
  int l = g_level.load();
  if (l < 0) {
    l = static_cast<int>(level_from_env());
    g_level.store(l);
  }
  return static_cast<Level>(l);
}

void set_level(Level l) { g_level.store(static_cast<int>(l)); }

void also_write_to(int fd, bool json) {
  g_extra_json.store(json);
  g_extra_fd.store(fd);
}

void write(Level l, std::string_view msg) {
  static constexpr std::string_view kNames[] = {"error", "warning", "info", "debug"};
  std::string_view name = kNames[static_cast<int>(l)];
  std::string line = fmt::format("slipway: {}: {}\n", name, msg);
  // One write() per line so lines from threads and processes do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  if (int fd = g_extra_fd.load(); fd >= 0) {
    std::string extra = g_extra_json.load() ? json_line(l == Level::kWarn ? "warning" : name, msg) : line;
    (void)!::write(fd, extra.data(), extra.size());
  }
}

}  // namespace slipway::log
