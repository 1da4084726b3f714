// Network namespace handles, and running code inside a namespace without moving the caller: the
// work runs on a short-lived thread that setns()'d into it, so only that thread ever changes
// namespace, and sockets it creates (netlink included) stay bound to the namespace it entered.
#pragma once

#include <sys/types.h>

#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::netns {

// The network namespace of process `pid` (/proc/PID/ns/net), opened O_RDONLY|O_CLOEXEC.
Result<UniqueFd> open_netns(pid_t pid);
// The network namespace of the calling thread (/proc/thread-self/ns/net).
Result<UniqueFd> current_netns();
// A new, empty network namespace (only a down "lo"), made by a thread that unshares and exits;
// it lives as long as the returned fd, or anything else that holds it.
Result<UniqueFd> create_netns();
// True when both fds name the same network namespace (same nsfs inode).
Result<bool> same_netns(int netns_fd_a, int netns_fd_b);

namespace detail {
// setns(CLONE_NEWNET) for the calling thread; only for the thread in_netns makes.
Status enter_netns(int netns_fd);
}  // namespace detail

// Runs f (returning Result<T>) on a new thread that has entered the network namespace netns_fd,
// waits for it and returns its result. f runs while the caller waits, so it may capture by
// reference. An exception thrown by f becomes an Error: none ever crosses the thread boundary.
template <class F>
std::invoke_result_t<F&> in_netns(int netns_fd, F f) {
  using R = std::invoke_result_t<F&>;
  std::optional<R> out;
  auto body = [&]() noexcept {
    try {
      if (auto entered = detail::enter_netns(netns_fd); !entered) {
        out.emplace(std::unexpected(std::move(entered).error()));
        return;
      }
      out.emplace(f());
    } catch (const std::exception& e) {
      out.emplace(fail("in network namespace: {}", e.what()));
    } catch (...) {
      out.emplace(fail("in network namespace: unknown exception"));
    }
  };
  try {
    std::thread worker(body);
    worker.join();
  } catch (const std::system_error& e) {
    return fail_errno("start a thread to enter a network namespace", e.code().value());
  }
  return std::move(*out);
}

}  // namespace slipway::netns
