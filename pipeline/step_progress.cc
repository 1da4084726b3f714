#include "pipeline/step_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace slipway::pipeline {
namespace {

// Wide enough for "integration", so the durations of the usual steps line up.
constexpr size_t kNameWidth = 11;
constexpr auto kTick = std::chrono::milliseconds(100);

const char* const kClearLine = "\r\x1b[K";

std::string padded(const std::string& name) {
  return name.size() >= kNameWidth ? name : name + std::string(kNameWidth - name.size(), ' ');
}

std::string glyph(StepStatus status, bool color) {
  const char* g = "\xe2\x9c\x98";  // ✘
  const char* sgr = "31";
  if (status == StepStatus::kPassed) {
    g = "\xe2\x9c\x94";  // ✔
    sgr = "32";
  } else if (status == StepStatus::kSkipped) {
    g = "\xe2\x80\x93";  // –
    sgr = "2";
  }
  return color ? fmt::format("\x1b[{}m{}\x1b[0m", sgr, g) : std::string(g);
}

// Columns of the terminal, to keep the in-place line from wrapping (a wrapped line cannot be
// redrawn with \r).
size_t terminal_columns(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// Cuts UTF-8 text to at most `columns` code points (our glyphs and step names are one column each).
std::string fit(const std::string& s, size_t columns) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) == 0x80) continue;
    if (++points > columns) return s.substr(0, i);
  }
  return s;
}

std::string elapsed(std::chrono::steady_clock::duration d) {
  auto ds = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 100;
  if (ds < 600) return fmt::format("{}.{} s", ds / 10, ds % 10);
  return format_duration(ds * 100);
}

}  // namespace

std::string render_step_line(const StepRecord& step, bool terminal, bool color) {
  std::string why = step.message;
  if (step.status == StepStatus::kPassed) {
    if (!terminal) return fmt::format("{}: ok ({})", step.name, format_duration(step.duration_ms));
    return fmt::format("  {} {} {:>8}", glyph(step.status, color), padded(step.name),
                       format_duration(step.duration_ms));
  }
  if (step.status == StepStatus::kSkipped) {
    std::string tail = why.empty() ? "skipped" : fmt::format("skipped ({})", why);
    if (!terminal) return fmt::format("{}: {}", step.name, tail);
    return fmt::format("  {} {} {}", glyph(step.status, color), padded(step.name), tail);
  }
  // Failed, or a step that ended without a verdict (cancelled while pending or running).
  if (why.empty())
    why = step.exit_code >= 0
              ? fmt::format("exited with {}", step.exit_code)
              : std::string(step.status == StepStatus::kFailed ? "" : "did not finish");
  if (!terminal)
    return fmt::format("{}: FAILED ({}){}{}", step.name, format_duration(step.duration_ms),
                       why.empty() ? "" : ": ", why);
  return fmt::format("  {} {} {:>8}{}{}", glyph(StepStatus::kFailed, color), padded(step.name),
                     format_duration(step.duration_ms), why.empty() ? "" : "  ", why);
}

StepProgress::StepProgress(int fd) : StepProgress(fd, ::isatty(fd) == 1) {}

StepProgress::StepProgress(int fd, bool is_terminal)
    : fd_(fd), terminal_(is_terminal), color_(is_terminal && std::getenv("NO_COLOR") == nullptr) {}

StepProgress::~StepProgress() {
  std::lock_guard api(api_mu_);
  stop_ticker();
  std::lock_guard lock(mu_);
  // Steps still running (an aborted run): keep their last state on screen, end the line.
  if (line_drawn_) write_out("\n");
  line_drawn_ = false;
}

void StepProgress::started(const StepRecord& step) {
  std::lock_guard api(api_mu_);
  {
    std::lock_guard lock(mu_);
    if (!terminal_) {
      write_out(fmt::format("{}: started\n", step.name));
      return;
    }
    running_.emplace_back(step.name, Clock::now());
    redraw_locked();
  }
  if (!thread_.joinable()) {
    stop_ = false;
    thread_ = std::thread([this] { ticker(); });
  }
}

void StepProgress::finished(const StepRecord& step) {
  std::lock_guard api(api_mu_);
  bool idle;
  {
    std::lock_guard lock(mu_);
    std::string line = render_step_line(step, terminal_, color_) + "\n";
    if (!terminal_) {
      write_out(line);
      return;
    }
    auto it = std::find_if(running_.begin(), running_.end(),
                           [&](const auto& r) { return r.first == step.name; });
    if (it != running_.end()) running_.erase(it);
    write_out(kClearLine + line);
    line_drawn_ = false;
    idle = running_.empty();
    if (idle) {
      stop_ = true;  // set with the final line under mu_: the ticker cannot draw after it
    } else {
      redraw_locked();
    }
  }
  if (idle) stop_ticker();
}

void StepProgress::stop_ticker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StepProgress::ticker() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, kTick, [this] { return stop_; })) redraw_locked();
}

void StepProgress::redraw_locked() {
  if (running_.empty()) return;
  auto now = Clock::now();
  std::string line;
  for (const auto& [name, since] : running_)
    line += fmt::format("  \xe2\x96\xb8 {} {}", name, elapsed(now - since));  // ▸
  write_out(kClearLine + fit(line, terminal_columns(fd_) - 1));
  line_drawn_ = true;
}

void StepProgress::write_out(const std::string& text) {
  // Progress is best effort: a closed or full output must not fail the pipeline.
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace slipway::pipeline
