#include "cli/terminal_mode.h"

#include <unistd.h>

namespace slipway::cli {

RawTerminalMode::RawTerminalMode(int fd) {
  if (::tcgetattr(fd, &saved_) < 0) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSADRAIN, &raw) == 0) fd_ = fd;
}

RawTerminalMode::~RawTerminalMode() {
  if (fd_ >= 0) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

Status check_interactive_terminal(bool interactive, bool tty) {
  if (interactive && tty && !::isatty(STDIN_FILENO)) return fail("the input device is not a TTY");
  return {};
}

}  // namespace slipway::cli
