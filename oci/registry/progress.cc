#include "oci/registry/progress.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

namespace slipway::oci {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

class TerminalProgress : public TransferProgress {
 public:
  explicit TerminalProgress(int fd) : fd_(fd) {}

  int begin(std::string_view label, std::string_view action, int64_t total) override {
    std::lock_guard lock(mu_);
    rows_.push_back({std::string(label), std::string(action), total, 0});
    draw();
    return static_cast<int>(rows_.size() - 1);
  }

  void update(int id, int64_t done) override {
    std::lock_guard lock(mu_);
    rows_.at(static_cast<size_t>(id)).done = done;
    if (SteadyClock::now() - last_draw_ < kRedrawInterval) return;
    draw();
  }

  void end(int id, std::string_view outcome) override {
    std::lock_guard lock(mu_);
    Row& row = rows_.at(static_cast<size_t>(id));
    row.action = std::string(outcome);
    if (outcome != "Failed") row.done = row.total;
    draw();
  }

 private:
  struct Row {
    std::string label, action;
    int64_t total = 0, done = 0;
  };

  // Every row, one line each: the cursor goes back up over what the last draw wrote, and each line
  // is erased and written again, so the rows stay in the order their transfers began.
  void draw() {
    std::string out;
    if (drawn_ > 0) out += fmt::format("\x1b[{}A", drawn_);
    for (const Row& r : rows_) out += "\r\x1b[2K" + render_progress(r.label, r.action, r.done, r.total) + "\n";
    drawn_ = rows_.size();
    last_draw_ = SteadyClock::now();
    (void)!::write(fd_, out.data(), out.size());
  }

  int fd_;
  std::mutex mu_;
  std::vector<Row> rows_;
  size_t drawn_ = 0;
  SteadyClock::time_point last_draw_{};
};

// Logs and CI: one line per finished blob, "3f2a1b0c9d8e: Pulled 23.6MB".
class LineProgress : public TransferProgress {
 public:
  explicit LineProgress(int fd) : fd_(fd) {}
  int begin(std::string_view label, std::string_view, int64_t total) override {
    std::lock_guard lock(mu_);
    rows_.push_back({std::string(label), total});
    return static_cast<int>(rows_.size() - 1);
  }
  void update(int, int64_t) override {}
  void end(int id, std::string_view outcome) override {
    std::lock_guard lock(mu_);
    const auto& [label, total] = rows_.at(static_cast<size_t>(id));
    std::string line = fmt::format("{}: {} {}\n", label, outcome, human_bytes(total));
    (void)!::write(fd_, line.data(), line.size());
  }

 private:
  int fd_;
  std::mutex mu_;
  std::vector<std::pair<std::string, int64_t>> rows_;
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
