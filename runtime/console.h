// A container's terminal (`run -t`, `exec -t`): a pseudo-terminal from the container's own devpts
// instance, never one of the host's. The process that becomes the container's command opens it
// inside the container, makes the slave its controlling terminal and stdio, and hands the master
// back to the runtime over a unix socket (as runc's --console-socket), which copies between the
// master and the user's terminal or the logs.
#pragma once

#include <optional>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::runtime {

struct ConsoleSize {
  unsigned short rows = 0;
  unsigned short cols = 0;
};

// Child side, after the container's root is in place; async-signal-safe, returns 0 or an errno.
// Starts a new session, opens /dev/pts/ptmx (refused unless it is the devpts multiplexer), gives
// the slave to uid, sets its size, makes it the controlling terminal and fds 0, 1 and 2, and
// sends the master over `socket`.
int attach_console(int socket, ConsoleSize size, uid_t uid) noexcept;

// Parent side: the master sent by attach_console, or an error once the socket's other end closed
// without one.
Result<UniqueFd> receive_console(int socket);

// The window size of a terminal, if fd is one.
std::optional<ConsoleSize> terminal_size(int fd);
void set_console_size(int master, ConsoleSize size);

}  // namespace slipway::runtime
