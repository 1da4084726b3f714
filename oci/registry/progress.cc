#include "oci/registry/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace slipway::oci {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

class TerminalProgress : public TransferProgress {
 public:
  explicit TerminalProgress(int fd) : fd_(fd) {}

  void begin(std::string_view label, std::string_view action, int64_t total) override {
    label_ = std::string(label);
    action_ = std::string(action);
    total_ = total;
    done_ = 0;
    last_draw_ = {};
    draw(false);
  }

  void update(int64_t done) override {
    done_ = done;
    auto now = SteadyClock::now();
    if (now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    draw(false);
  }

  void end(std::string_view outcome) override {
    action_ = std::string(outcome);
    if (outcome != "Failed") done_ = total_;
    draw(true);
  }

 private:
  void draw(bool final) {
    // \r and "erase line" redraw in place; the final state keeps its line.
    std::string line = "\r\x1b[2K" + render_progress(label_, action_, done_, total_);
    if (final) line += '\n';
    (void)!::write(fd_, line.data(), line.size());
  }

  int fd_;
  std::string label_, action_;
  int64_t total_ = 0, done_ = 0;
  SteadyClock::time_point last_draw_{};
};

// Logs and CI: one line per finished blob, "3f2a1b0c9d8e: Pulled 23.6MB".
class LineProgress : public TransferProgress {
 public:
  explicit LineProgress(int fd) : fd_(fd) {}
  void begin(std::string_view label, std::string_view, int64_t total) override {
    label_ = std::string(label);
    total_ = total;
  }
  void update(int64_t) override {}
  void end(std::string_view outcome) override {
    std::string line = fmt::format("{}: {} {}\n", label_, outcome, human_bytes(total_));
    (void)!::write(fd_, line.data(), line.size());
  }

 private:
  int fd_;
  std::string label_;
  int64_t total_ = 0;
};

}  // namespace

std::unique_ptr<TransferProgress> line_progress(int fd) { return std::make_unique<LineProgress>(fd); }

std::string human_bytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1000 && unit + 1 < std::size(kUnits)) {
    v /= 1000;
    ++unit;
  }
  return unit == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", v, kUnits[unit]);
}

std::string render_progress(std::string_view label, std::string_view action, int64_t done,
                            int64_t total, int bar_width) {
  std::string out = fmt::format("{}: {:<9}", label, action);
  if (total <= 0) return out;
  done = std::clamp<int64_t>(done, 0, total);
  int filled = static_cast<int>(done * bar_width / total);
  std::string bar(static_cast<size_t>(bar_width), ' ');
  std::fill_n(bar.begin(), filled, '=');
  if (filled < bar_width && filled > 0) bar[static_cast<size_t>(filled)] = '>';
  out += fmt::format("[{}] {:>8}/{}", bar, human_bytes(done), human_bytes(total));
  return out;
}

std::unique_ptr<TransferProgress> terminal_progress(int fd) {
  return std::make_unique<TerminalProgress>(fd);
}

}  // namespace slipway::oci
