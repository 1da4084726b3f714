#include "netns/netns_fd.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

namespace slipway::netns {

static Result<UniqueFd> open_ns_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("open network namespace {}", path));
  return UniqueFd(fd);
}

Result<UniqueFd> open_netns(pid_t pid) {
  if (pid <= 0) return fail("open network namespace of pid {}: not a process id", pid);
  return open_ns_path(fmt::format("/proc/{}/ns/net", pid));
}

Result<UniqueFd> current_netns() {
  return open_ns_path("/proc/thread-self/ns/net");
}

Result<UniqueFd> create_netns() {
  Result<UniqueFd> out = fail("create network namespace: thread did not run");
  try {
    // The thread unshares only itself and exits afterwards, so no other thread of this process
    // ever sees the new namespace; the fd it opened keeps the namespace alive.
    std::thread worker([&out]() noexcept {
      if (::unshare(CLONE_NEWNET) < 0) {
        out = fail_errno("create network namespace: unshare(CLONE_NEWNET)");
        return;
      }
      out = current_netns();
    });
    worker.join();
  } catch (const std::system_error& e) {
    return fail_errno("start a thread to create a network namespace", e.code().value());
  }
  return out;
}

Result<bool> same_netns(int netns_fd_a, int netns_fd_b) {
  struct stat a, b;
  if (::fstat(netns_fd_a, &a) < 0) return fail_errno("stat network namespace fd");
  if (::fstat(netns_fd_b, &b) < 0) return fail_errno("stat network namespace fd");
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

namespace detail {

Status enter_netns(int netns_fd) {
  if (::setns(netns_fd, CLONE_NEWNET) < 0) return fail_errno("enter network namespace (setns)");
  return {};
}

}  // namespace detail

}  // namespace slipway::netns
