#include "runtime/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "base/log.h"

namespace slipway::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// A pipe whose ends both sit above fd 2, so that dup'ing them onto 0, 1, 2 in the child can never
// overwrite one another (a caller with a closed stdin would otherwise get fd 0 from pipe2).
Status make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("create stdio pipe");
  for (int i = 0; i < 2; ++i) {
    if (p[i] > 2) continue;
    int moved = ::fcntl(p[i], F_DUPFD_CLOEXEC, 3);
    int e = errno;
    ::close(p[i]);
    if (moved < 0) {
      ::close(p[1 - i]);
      return fail_errno("create stdio pipe", e);
    }
    p[i] = moved;
  }
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  return {};
}

bool is_anonymous_pipe(int fd) {
  struct statfs fs;
  return fd >= 0 && ::fstatfs(fd, &fs) == 0 && fs.f_type == PIPEFS_MAGIC;
}

// Reads what is there; false at EOF or on an error that ends the stream.
bool pump(int from, OutputSink& to, char* buf, size_t size) {
  ssize_t n = ::read(from, buf, size);
  if (n > 0) {
    to.write(std::string_view(buf, static_cast<size_t>(n)));
    return !to.broken();
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

// Reads what the stdin source has into `pending`; at its end (or an error) source_open goes false.
void read_source(int source, std::vector<char>& buf, std::string& pending, bool& source_open) {
  ssize_t n = ::read(source, buf.data(), buf.size());
  if (n > 0) pending.assign(buf.data(), static_cast<size_t>(n));
  else if (n == 0 || (errno != EINTR && errno != EAGAIN)) source_open = false;
}

}  // namespace

void FdSink::write(std::string_view data) {
  while (!broken_ && !data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) {
      broken_ = true;
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

Result<std::unique_ptr<RotatingLogSink>> RotatingLogSink::open(std::string path, uint64_t max_bytes,
                                                              int max_files) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail_errno(fmt::format("open log {}", path));
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0) return fail_errno(fmt::format("stat log {}", path));
  return std::unique_ptr<RotatingLogSink>(new RotatingLogSink(
      std::move(path), std::move(owned), static_cast<uint64_t>(st.st_size), max_bytes, max_files));
}

RotatingLogSink::RotatingLogSink(std::string path, UniqueFd fd, uint64_t size, uint64_t max_bytes,
                                 int max_files)
    : path_(std::move(path)), fd_(std::move(fd)), size_(size), max_bytes_(max_bytes),
      max_files_(max_files < 1 ? 1 : max_files) {}

void RotatingLogSink::rotate() {
  // PATH.(N-1) is dropped, PATH.i moves to PATH.(i+1), PATH to PATH.1; a single file just restarts.
  if (max_files_ == 1) {
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  auto name = [&](int i) { return i == 0 ? path_ : fmt::format("{}.{}", path_, i); };
  ::unlink(name(max_files_ - 1).c_str());
  for (int i = max_files_ - 2; i >= 0; --i) ::rename(name(i).c_str(), name(i + 1).c_str());
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    log::warn("log {}: {}; output dropped", path_, std::strerror(errno));
    return;
  }
  fd_.reset(fd);
  size_ = 0;
}

void RotatingLogSink::write(std::string_view data) {
  while (!data.empty() && fd_) {
    if (max_bytes_ && size_ >= max_bytes_) rotate();
    size_t room = max_bytes_ ? static_cast<size_t>(std::min<uint64_t>(max_bytes_ - size_, data.size()))
                             : data.size();
    ssize_t n = ::write(fd_.get(), data.data(), room);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk drops output rather than stopping the container
    size_ += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

Result<std::unique_ptr<StdioRelay>> StdioRelay::create(StdioTargets targets) {
  if (!targets.out) targets.out = std::make_shared<FdSink>(STDOUT_FILENO);
  if (!targets.err) targets.err = std::make_shared<FdSink>(STDERR_FILENO);
  std::unique_ptr<StdioRelay> r(new StdioRelay(std::move(targets)));
  int stop = ::eventfd(0, EFD_CLOEXEC);
  if (stop < 0) return fail_errno("create eventfd");
  r->stop_.reset(stop);
  if (r->targets_.pass_through) {
    // The child keeps the 0, 1 and 2 it inherits (container_fds() are all -1).
    if (r->targets_.terminal) {
      int fd = ::fcntl(r->targets_.console_socket, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) return fail_errno("duplicate the console socket");
      r->console_child_.reset(fd);
    }
    return r;
  }
  if (r->targets_.terminal) {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
      return fail_errno("create terminal socket");
    r->console_ours_.reset(sp[0]);
    r->console_child_.reset(sp[1]);
    r->console_size_ = terminal_size(r->targets_.size_from).value_or(ConsoleSize{});
    return r;
  }
  if (is_anonymous_pipe(r->targets_.in)) {
    // Nothing to reopen or chmod behind an anonymous pipe: the container reads it itself, and
    // takes no more of it than it wants (`while read h; do slipway exec -i c ...; done` works).
    int fd = ::fcntl(r->targets_.in, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return fail_errno("duplicate stdin");
    r->child_in_.reset(fd);
  } else {
    SLW_TRY(make_pipe(r->child_in_, r->in_write_));
  }
  SLW_TRY(make_pipe(r->out_read_, r->child_out_));
  SLW_TRY(make_pipe(r->err_read_, r->child_err_));
  // Only our end: pipe2 gives each end its own open file, so the container's stays blocking.
  if (r->in_write_ && ::fcntl(r->in_write_.get(), F_SETFL, O_NONBLOCK) < 0)
    return fail_errno("set stdin pipe non-blocking");
  if (r->targets_.in == -1) r->in_write_.reset();  // empty stdin: EOF at the first read
  return r;
}

StdioRelay::~StdioRelay() { finish(std::chrono::milliseconds(0)); }

std::array<int, 3> StdioRelay::container_fds() const {
  return {child_in_.get(), child_out_.get(), child_err_.get()};
}

void StdioRelay::close_container_fds() {
  child_in_.reset();
  child_out_.reset();
  child_err_.reset();
  console_child_.reset();
}

Status StdioRelay::start() {
  if (targets_.pass_through) return {};  // nothing to copy
  // Signals are for the thread that waits for the container (it forwards them through a
  // signalfd, which needs them blocked everywhere): the relay is born with all of them blocked.
  sigset_t all, old;
  if (targets_.terminal && ::isatty(targets_.size_from)) {
    // Window changes reach the relay through a signalfd: blocked in the calling thread as well,
    // or the default action (ignore) would drop them there.
    sigset_t winch;
    ::sigemptyset(&winch);
    ::sigaddset(&winch, SIGWINCH);
    sigset_t before;
    ::pthread_sigmask(SIG_BLOCK, &winch, &before);
    unblock_winch_ = !::sigismember(&before, SIGWINCH);
    int fd = ::signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return fail_errno("create signalfd for SIGWINCH");
    winch_.reset(fd);
  }
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  Status started;
  try {
    thread_ = std::thread([this] { targets_.terminal ? run_terminal() : run(); });
  } catch (const std::system_error& e) {
    started = fail("start stdio relay: {}", e.what());
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return started;
}

void StdioRelay::finish(std::optional<std::chrono::milliseconds> grace) {
  if (unblock_winch_) {
    sigset_t winch;
    ::sigemptyset(&winch);
    ::sigaddset(&winch, SIGWINCH);
    ::pthread_sigmask(SIG_UNBLOCK, &winch, nullptr);
    unblock_winch_ = false;
  }
  if (!thread_.joinable()) return;
  if (grace) {
    deadline_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       (Clock::now() + *grace).time_since_epoch())
                       .count();
    uint64_t one = 1;
    (void)!::write(stop_.get(), &one, sizeof one);
  }
  thread_.join();
}

StdioRelay::Wake StdioRelay::poll_once(pollfd* fds, int count, int timeout) {
  if (::poll(fds, static_cast<nfds_t>(count), timeout) < 0) {
    if (errno == EINTR) return Wake::kAgain;
    log::warn("stdio relay: poll: {}", std::strerror(errno));
    return Wake::kFailed;
  }
  if (fds[0].revents) {  // fds[0] is always the stop eventfd
    uint64_t v;
    (void)!::read(stop_.get(), &v, sizeof v);
    return Wake::kAgain;
  }
  return Wake::kEvents;
}

std::optional<int> StdioRelay::poll_timeout() const {
  int64_t deadline = deadline_ns_.load();
  if (deadline == kNoDeadline) return -1;
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  if (now >= deadline) return std::nullopt;
  return static_cast<int>((deadline - now) / 1000000 + 1);
}

void StdioRelay::drain_now(std::vector<char>& buf) {
  // What is already in the pipes was written before the deadline: it is not lost.
  for (UniqueFd* fd : {&out_read_, &err_read_, &master_}) {
    if (!*fd || ::fcntl(fd->get(), F_SETFL, O_NONBLOCK) < 0) continue;
    OutputSink& sink = fd == &err_read_ ? *targets_.err : *targets_.out;
    while (pump(fd->get(), sink, buf.data(), buf.size())) {
      pollfd p{fd->get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0) break;
    }
  }
}

void StdioRelay::run() {
  std::vector<char> buf(64 * 1024);
  std::string pending;  // read from the stdin source, not yet taken by the container
  int source = targets_.in;
  bool source_open = in_write_.valid();
  while (out_read_ || err_read_) {
    std::optional<int> timeout = poll_timeout();
    if (!timeout) {
      drain_now(buf);
      return;
    }
    pollfd fds[5] = {{stop_.get(), POLLIN, 0}, {out_read_.get(), POLLIN, 0}, {err_read_.get(), POLLIN, 0},
                     {-1, POLLIN, 0}, {-1, POLLOUT, 0}};
    if (in_write_ && pending.empty() && source_open && source >= 0) fds[3].fd = source;
    if (in_write_ && !pending.empty()) fds[4].fd = in_write_.get();
    Wake wake = poll_once(fds, 5, *timeout);
    if (wake == Wake::kFailed) return;
    if (wake == Wake::kAgain) continue;  // the deadline check above decides
    if (fds[1].revents && !pump(out_read_.get(), *targets_.out, buf.data(), buf.size())) out_read_.reset();
    if (fds[2].revents && !pump(err_read_.get(), *targets_.err, buf.data(), buf.size())) err_read_.reset();
    if (fds[3].revents) read_source(source, buf, pending, source_open);
    if (fds[4].revents) {
      ssize_t n = ::write(in_write_.get(), pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EINTR && errno != EAGAIN) {  // the container closed its stdin
        pending.clear();
        source_open = false;
      }
    }
    if (in_write_ && !source_open && pending.empty()) in_write_.reset();
  }
}

// The same for a terminal: the master arrives over the console socket once the container's
// command has its slave; reading it ends with EIO when every process holding the slave is gone.
void StdioRelay::run_terminal() {
  std::vector<char> buf(64 * 1024);
  std::string pending;  // read from the stdin source, not yet taken by the terminal
  int source = targets_.in;
  bool source_open = source >= 0;
  while (console_ours_ || master_) {
    std::optional<int> timeout = poll_timeout();
    if (!timeout) {
      drain_now(buf);
      return;
    }
    pollfd fds[5] = {{stop_.get(), POLLIN, 0}, {console_ours_.get(), POLLIN, 0},
                     {master_.get(), POLLIN, 0}, {-1, POLLIN, 0}, {winch_.get(), POLLIN, 0}};
    if (master_ && !pending.empty()) fds[2].events |= POLLOUT;
    if (master_ && pending.empty() && source_open) fds[3].fd = source;
    Wake wake = poll_once(fds, 5, *timeout);
    if (wake == Wake::kFailed) return;
    if (wake == Wake::kAgain) continue;  // the deadline check above decides
    if (fds[1].revents) {
      auto master = receive_console(console_ours_.get());
      console_ours_.reset();
      if (master && ::fcntl(master->get(), F_SETFL, O_NONBLOCK) == 0) master_ = std::move(*master);
    }
    if (fds[4].revents) {
      signalfd_siginfo si;
      while (::read(winch_.get(), &si, sizeof si) == sizeof si) {
      }
      if (auto size = terminal_size(targets_.size_from); size && master_) set_console_size(master_.get(), *size);
    }
    if (fds[2].revents & POLLOUT) {
      ssize_t n = ::write(master_.get(), pending.data(), pending.size());
      if (n > 0) pending.erase(0, static_cast<size_t>(n));
      else if (n < 0 && errno != EINTR && errno != EAGAIN) pending.clear();
    }
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
      // EIO: the last holder of the slave closed it.
      if (!pump(master_.get(), *targets_.out, buf.data(), buf.size())) master_.reset();
    }
    if (fds[3].revents) read_source(source, buf, pending, source_open);
  }
}

}  // namespace slipway::runtime
