// Minimal leveled logging to stderr. Level from SLIPWAY_LOG (error|warn|info|debug), default warn.
#pragma once

#include <fmt/core.h>

#include <string_view>

namespace slipway::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

Level level();
void set_level(Level l);
void write(Level l, std::string_view msg);

// Every line also goes to `fd` (not owned; the OCI runtime's --log file): as text, or as runc's
// JSON lines {"level":"error","msg":"...","time":"..."} that containerd reads back on failure.
void also_write_to(int fd, bool json);

template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (level() >= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (level() >= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (level() >= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace slipway::log
