#include "tests/support/terminal_session.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

namespace slipway::testing {

CommandResult run_in_terminal(const std::vector<std::string>& argv, const TerminalSession& session) {
  CommandResult result;
  winsize ws{session.rows, session.cols, 0, 0};
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) {
    result.err = "forkpty failed";
    return result;
  }
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  UniqueFd m(master);
  (void)!::write(master, session.typed.data(), session.typed.size());
  bool resized = session.resize_when.empty();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(session.timeout_seconds);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the command and everything it started closed the terminal
    result.out.append(buf, static_cast<size_t>(n));
    if (!resized && result.out.find(session.resize_when) != std::string::npos) {
      resized = true;
      winsize bigger{session.resize_rows, session.resize_cols, 0, 0};
      ::ioctl(master, TIOCSWINSZ, &bigger);
      (void)!::write(master, session.typed_after.data(), session.typed_after.size());
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace slipway::testing
