#include "runtime/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace slipway::runtime {
namespace {

constexpr unsigned kPtyMajor = 5;
constexpr unsigned kPtmxMinor = 2;

int send_fd(int socket, int fd) noexcept {
  char byte = 'm';
  iovec iov{&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  std::memset(&control, 0, sizeof control);
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : (n < 0 ? errno : EPIPE);
}

}  // namespace

int attach_console(int socket, ConsoleSize size, uid_t uid) noexcept {
  if (::setsid() < 0) return errno;
  int master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  if (master < 0) return errno;
  int e = 0;
  struct stat st;
  int unlock = 0;
  int slave = -1;
  winsize ws{size.rows, size.cols, 0, 0};
  // `exec -t` opens it in a running container, whose root may have replaced the path.
  if (::fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || ::major(st.st_rdev) != kPtyMajor ||
      ::minor(st.st_rdev) != kPtmxMinor) {
    e = ENOTTY;
  } else if (::ioctl(master, TIOCSPTLCK, &unlock) < 0 ||
             ((size.rows || size.cols) && ::ioctl(master, TIOCSWINSZ, &ws) < 0)) {
    e = errno;
  } else if ((slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY)) < 0) {
    e = errno;
  } else if (::fchown(slave, uid, static_cast<gid_t>(-1)) < 0 || ::ioctl(slave, TIOCSCTTY, 0) < 0) {
    e = errno;
  } else {
    e = send_fd(socket, master);
    for (int i = 0; e == 0 && i < 3; ++i)
      if (::dup2(slave, i) < 0) e = errno;
  }
  if (slave > 2) ::close(slave);
  ::close(master);
  return e;
}

Result<UniqueFd> receive_console(int socket) {
  char byte;
  iovec iov{&byte, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive the container's terminal");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n == 0 || !c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return fail("receive the container's terminal: the container sent none");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

std::optional<ConsoleSize> terminal_size(int fd) {
  winsize ws{};
  if (fd < 0 || ::ioctl(fd, TIOCGWINSZ, &ws) < 0) return std::nullopt;
  return ConsoleSize{ws.ws_row, ws.ws_col};
}

void set_console_size(int master, ConsoleSize size) {
  winsize ws{size.rows, size.cols, 0, 0};
  (void)::ioctl(master, TIOCSWINSZ, &ws);
}

}  // namespace slipway::runtime
