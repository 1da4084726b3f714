// Live progress of pipeline steps. On a terminal: the running steps on one line with a ticking
// elapsed time, redrawn in place, and one final line per step. Elsewhere (CI logs, pipes): plain
// ASCII lines, one when a step starts and one when it ends, with no escape codes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pipeline/run_report.h"

namespace slipway::pipeline {

// The final line for a step, without a newline: "  ✔ unit         1.23 s" on a terminal,
// "unit: ok (1.23 s)" elsewhere. `color` adds SGR colors to the terminal glyph.
std::string render_step_line(const StepRecord& step, bool terminal, bool color);

class StepProgress {
 public:
  // is_terminal decides the mode; the one-argument form asks isatty(fd). Colors on a terminal
  // unless NO_COLOR is set.
  explicit StepProgress(int fd);
  StepProgress(int fd, bool is_terminal);
  ~StepProgress();
  StepProgress(const StepProgress&) = delete;
  StepProgress& operator=(const StepProgress&) = delete;

  // Steps may run in parallel; both calls are safe from any thread.
  void started(const StepRecord& step);
  void finished(const StepRecord& step);

 private:
  using Clock = std::chrono::steady_clock;

  void ticker();
  // Draws the running steps over the current line; mu_ held.
  void redraw_locked();
  void write_out(const std::string& text);
  // Stops and joins the ticker; api_mu_ held, mu_ not.
  void stop_ticker();

  const int fd_;
  const bool terminal_;
  const bool color_;
  std::mutex api_mu_;  // serializes started/finished so the ticker is started and joined by one
  std::mutex mu_;      // guards everything below and every write to fd_
  std::condition_variable cv_;
  bool stop_ = false;
  bool line_drawn_ = false;  // the in-place line is on screen and needs clearing before output
  std::vector<std::pair<std::string, Clock::time_point>> running_;
  std::thread thread_;
};

}  // namespace slipway::pipeline
