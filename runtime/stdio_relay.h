// A container's stdio. The container only ever gets pipes made for it: a host file descriptor
// (the caller's terminal, a log file, /dev/null) would let it reopen that host file through
// /proc/self/fd and rewrite or chmod it. The runtime copies between the pipes and the real
// targets on a thread of its own, and writes logs itself.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "runtime/console.h"

namespace slipway::runtime {

// Where the runtime writes what a container prints. Called from the relay thread only.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void write(std::string_view data) = 0;
  // True once nothing more can be written: the container's pipe is closed too, so its next write
  // gets EPIPE (and SIGPIPE), as if it wrote to the reader directly (`slipway run ... | head -1`).
  virtual bool broken() const { return false; }
};

// Writes to a file descriptor of this process (not owned). A broken target (EPIPE) drops the rest.
class FdSink : public OutputSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  void write(std::string_view data) override;
  bool broken() const override { return broken_; }

 private:
  int fd_;
  bool broken_ = false;
};

// A log file capped at max_bytes: when full it is renamed PATH.1 (PATH.1 to PATH.2, ...) and a new
// one begins, keeping at most max_files files in all, as Docker's max-size/max-file.
class RotatingLogSink : public OutputSink {
 public:
  static Result<std::unique_ptr<RotatingLogSink>> open(std::string path, uint64_t max_bytes,
                                                      int max_files);
  void write(std::string_view data) override;

 private:
  RotatingLogSink(std::string path, UniqueFd fd, uint64_t size, uint64_t max_bytes, int max_files);
  void rotate();
  std::string path_;
  UniqueFd fd_;
  uint64_t size_;
  uint64_t max_bytes_;
  int max_files_;
};

// `in` value: the container's stdin stays open but nothing is ever written to it (`run -d -i`:
// a shell waits instead of ending at EOF).
inline constexpr int kStdinHeldOpen = -2;

struct StdioTargets {
  // Copied into the container's stdin until EOF (an anonymous pipe is handed over as it is, being
  // harmless); -1: empty stdin; kStdinHeldOpen.
  int in = STDIN_FILENO;
  std::shared_ptr<OutputSink> out;   // null: this process's stdout
  std::shared_ptr<OutputSink> err;   // null: this process's stderr
  // A terminal instead of pipes (`-t`, console.h): the container's 0, 1 and 2 are one pty, its
  // output all goes to `out`, and `in` is typed into it.
  bool terminal = false;
  // A host terminal whose window size the container's terminal takes, at start and on SIGWINCH.
  int size_from = -1;
  // The OCI runtime contract (`slipway oci create`): the container's 0, 1 and 2 are this
  // process's own, made for it by the caller (containerd's shim, conmon), and nothing is copied;
  // with a terminal, the pty master goes to the caller's --console-socket, connected here.
  bool pass_through = false;
  int console_socket = -1;
};

// The pipes and the thread that copies through them.
class StdioRelay {
 public:
  static Result<std::unique_ptr<StdioRelay>> create(StdioTargets targets);
  ~StdioRelay();
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  // The container's ends, to dup onto 0, 1, 2 in the child: all above 2 and O_CLOEXEC; -1 each
  // for a terminal.
  std::array<int, 3> container_fds() const;
  // For a terminal: the socket the child sends the pty master over (attach_console), and the
  // window size to give it; -1 without a terminal.
  int console_socket() const { return console_child_.get(); }
  ConsoleSize console_size() const { return console_size_; }
  // Starts copying. Before the container's process exists is fine: nothing reaches EOF until
  // close_container_fds() has been called too.
  Status start();
  // Once the container's process holds its ends: closes this process's copies of them.
  void close_container_fds();
  // Copies until every writer of the container's stdout and stderr is gone (or, with a grace
  // time, at most that much longer), then stops. Destruction abandons copying at once.
  void finish(std::optional<std::chrono::milliseconds> grace = std::nullopt);

 private:
  explicit StdioRelay(StdioTargets targets) : targets_(std::move(targets)) {}
  void run();
  void run_terminal();
  // Milliseconds poll may wait before the deadline, -1 without one, or nullopt once it passed.
  std::optional<int> poll_timeout() const;
  // One poll over fds (fds[0]: the stop eventfd): kAgain after a signal or a stop request (look at
  // the deadline again), kFailed when the relay must end.
  enum class Wake { kEvents, kAgain, kFailed };
  Wake poll_once(pollfd* fds, int count, int timeout);
  void drain_now(std::vector<char>& buf);
  StdioTargets targets_;
  UniqueFd child_in_, child_out_, child_err_;  // the container's ends
  UniqueFd in_write_, out_read_, err_read_;    // ours
  UniqueFd console_child_, console_ours_;      // a socket pair the pty master comes over
  UniqueFd master_;                            // the container's pty, once received
  ConsoleSize console_size_;
  UniqueFd winch_;                             // signalfd for SIGWINCH, with size_from
  bool unblock_winch_ = false;                 // start() blocked it in the calling thread
  UniqueFd stop_;                              // eventfd: look at deadline_ns_ again
  static constexpr int64_t kNoDeadline = INT64_MAX;
  std::atomic<int64_t> deadline_ns_{kNoDeadline};  // steady clock: stop copying at this time
  std::thread thread_;
};

}  // namespace slipway::runtime
