// A step's log when the run has secrets: the step's processes write into a pipe, and a thread
// copies what comes out of it into the log file through a SecretMask, so a secret never reaches
// the disk, also when a process prints it in pieces or base64-encoded.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"
#include "pipeline/secret_mask.h"

namespace slipway::pipeline {

class MaskedLog {
 public:
  // Writes to log_fd (which must outlive this) what is written into write_end().
  static Result<std::unique_ptr<MaskedLog>> open(int log_fd, const SecretMask& mask);
  ~MaskedLog();

  // The pipe's write end, for the step's processes (O_CLOEXEC: each child dup2s its own copy).
  UniqueFd& write_end() { return write_end_; }
  // Closes the write end, waits until every writer closed theirs (at most `grace`: a process that
  // keeps it open cannot hold the step), and writes the masked rest.
  void finish(std::chrono::milliseconds grace);

 private:
  MaskedLog(UniqueFd read_end, UniqueFd write_end, int log_fd, const SecretMask& mask);
  void pump();

  UniqueFd read_end_, write_end_;
  int log_fd_;
  SecretMask mask_;
  std::atomic<int64_t> deadline_ms_{0};  // 0: none yet; else steady-clock ms after which pump() gives up
  std::thread thread_;
};

}  // namespace slipway::pipeline
