// The user's terminal while a container's terminal is attached to it (`run -it`, `exec -it`).
#pragma once

#include <termios.h>

#include "base/error.h"

namespace slipway::cli {

// Raw mode for as long as it lives: every key, ^C and ^D included, goes to the container's
// terminal, whose own line discipline does the echoing and the signals. Nothing happens unless
// fd is a terminal.
class RawTerminalMode {
 public:
  explicit RawTerminalMode(int fd);
  ~RawTerminalMode();
  RawTerminalMode(const RawTerminalMode&) = delete;
  RawTerminalMode& operator=(const RawTerminalMode&) = delete;

 private:
  int fd_ = -1;
  termios saved_{};
};

// Docker's rule for -i -t: the input must be a terminal ("the input device is not a TTY").
Status check_interactive_terminal(bool interactive, bool tty);

}  // namespace slipway::cli
