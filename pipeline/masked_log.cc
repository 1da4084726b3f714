#include "pipeline/masked_log.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "base/fs.h"

namespace slipway::pipeline {
namespace {

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<MaskedLog>> MaskedLog::open(int log_fd, const SecretMask& mask) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return fail_errno("pipe for the masked log");
  return std::unique_ptr<MaskedLog>(new MaskedLog(UniqueFd(fds[0]), UniqueFd(fds[1]), log_fd, mask));
}

MaskedLog::MaskedLog(UniqueFd read_end, UniqueFd write_end, int log_fd, const SecretMask& mask)
    : read_end_(std::move(read_end)), write_end_(std::move(write_end)), log_fd_(log_fd), mask_(mask) {
  thread_ = std::thread([this] { pump(); });
}

MaskedLog::~MaskedLog() { finish(std::chrono::milliseconds(0)); }

void MaskedLog::pump() {
  char buf[16 * 1024];
  for (;;) {
    int64_t deadline = deadline_ms_.load();
    if (deadline != 0 && steady_now_ms() >= deadline) break;
    pollfd p{read_end_.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0) {
      ssize_t n = ::read(read_end_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // every writer closed its end
      (void)fs::write_all(log_fd_, mask_.feed(std::string_view(buf, static_cast<size_t>(n))), "step log");
    }
  }
  (void)fs::write_all(log_fd_, mask_.finish(), "step log");
}

void MaskedLog::finish(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  write_end_.reset();
  deadline_ms_ = steady_now_ms() + std::max<int64_t>(1, grace.count());
  thread_.join();
}

}  // namespace slipway::pipeline
