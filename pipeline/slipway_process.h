// The pipeline runs each container, build and push as a child `slipway` process of this very
// binary: its output goes straight to the step's log, a crash or a hang of one step cannot take
// the runner down, and every child dies with the runner (PR_SET_PDEATHSIG), so a killed runner
// leaves only records that `slipway gc` cleans up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "engine/run_options.h"

namespace slipway::pipeline {

// Pipeline steps describe their containers as `slipway run` options.
using engine::RunOptions;

// A started child process, killed (SIGKILL) and reaped on destruction unless waited for.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool exited() const { return pid_ <= 0; }
  // Exit status (128+N when killed by signal N); with a timeout, nullopt when still running.
  Result<std::optional<int>> wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Sends sig if the process still runs.
  void signal(int sig) const;

 private:
  void kill_and_reap();
  pid_t pid_ = 0;
  UniqueFd pidfd_;
};

// SIGKILLs every child process started by spawn_slipway that has not been reaped yet. Async-signal
// safe: an interrupted runner calls it from its signal handler, and the children's containers
// follow through their own PR_SET_PDEATHSIG.
void kill_all_children();

// Where child invocations keep their state: the runner's --root and --run-root.
struct SlipwayInvocation {
  std::string binary = "/proc/self/exe";
  std::string root;
  std::string run_root;  // empty: the child derives it from root, as the runner did
  // Extra environment for children (e.g. SOURCE_DATE_EPOCH for builds), on top of the runner's.
  std::vector<std::string> env;
};

// Starts `slipway --root R [--run-root RR] args...` with stdin from /dev/null and stdout and
// stderr to log_fd (-1: inherited).
Result<ChildProcess> spawn_slipway(const SlipwayInvocation& how, const std::vector<std::string>& args,
                                   int log_fd);

// spawn_slipway, then waits; returns the exit status.
Result<int> run_slipway(const SlipwayInvocation& how, const std::vector<std::string>& args, int log_fd);

// `run` arguments for options, up to and including the command: the inverse of the CLI's parser.
std::vector<std::string> run_arguments(const RunOptions& options);

}  // namespace slipway::pipeline
