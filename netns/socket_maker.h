// A socket belongs for life to the network namespace of the thread that created it: bind, listen
// and connect on it act there, whichever thread calls them. SocketMaker is a thread parked in one
// namespace that creates sockets there and hands them out, so an event loop in another namespace
// can open outgoing connections into it without setns() on its data path.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::netns {

// socket(domain, type, protocol) made by a short-lived thread inside netns_fd; for setup work.
Result<UniqueFd> make_socket_in_netns(int netns_fd, int domain, int type, int protocol = 0);

class SocketMaker {
 public:
  // Starts the thread, which enters netns_fd (duplicated; the caller keeps its fd) and keeps
  // `pool_size` ready sockets of (domain, type). The namespace stays alive while this lives.
  static Result<std::unique_ptr<SocketMaker>> start(int netns_fd, int domain, int type,
                                                    size_t pool_size = 16);
  ~SocketMaker();
  SocketMaker(const SocketMaker&) = delete;
  SocketMaker& operator=(const SocketMaker&) = delete;

  // A fresh socket of the maker's namespace. Takes one from the ready pool without waiting when
  // there is one (the usual case); after a burst that emptied it, waits for the maker thread.
  Result<UniqueFd> take();

 private:
  SocketMaker(int domain, int type, size_t pool_size);
  void run();

  const int domain_;
  const int type_;
  const size_t pool_size_;
  std::mutex mu_;
  std::condition_variable want_more_;  // the maker waits here for the pool to drop
  std::condition_variable ready_;      // takers wait here for a socket or an error
  std::deque<UniqueFd> pool_;
  std::optional<Error> error_;  // the last socket() failure, handed to the next taker
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace slipway::netns
