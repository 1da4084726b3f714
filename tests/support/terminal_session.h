// Runs a command on a pseudo-terminal of its own, as a user at a terminal would: what it prints,
// what is typed, window changes.
#pragma once

#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace slipway::testing {

struct TerminalSession {
  unsigned short rows = 24, cols = 80;
  std::string typed;  // written to the terminal at once (the line discipline holds it until read)
  // Once the output contains `resize_when`, the window becomes resize_rows x resize_cols (the
  // command gets SIGWINCH), and `typed_after` is written.
  std::string resize_when;
  unsigned short resize_rows = 0, resize_cols = 0;
  std::string typed_after;
  int timeout_seconds = 30;  // then the command is killed (exit code 128+9)
};

// `out` holds everything the terminal showed (echo included, "\r\n" line ends); `err` is empty.
CommandResult run_in_terminal(const std::vector<std::string>& argv, const TerminalSession& session);

}  // namespace slipway::testing
