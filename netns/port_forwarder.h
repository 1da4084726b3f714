// redir-style TCP forwarding inside the slipway process: no iptables, no helper in the container.
// Listening sockets are made once, in their namespace, when a rule is added (so a busy port is an
// error at start); outgoing sockets for another namespace come from a SocketMaker parked there.
// One event-loop thread moves the data: epoll, non-blocking sockets and connects, splice(2)
// through a pipe per direction, half-close and backpressure.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "netns/forward_rule.h"
#include "netns/socket_maker.h"
#include "netns/splice_pipe.h"

namespace slipway::netns {

struct ForwardStats {
  uint64_t accepted = 0;        // client connections accepted, all rules
  uint64_t active = 0;          // connections open now
  uint64_t connect_failed = 0;  // clients closed because the target could not be reached
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
};

class PortForwarder {
 public:
  // Remembers the calling thread's network namespace: a rule's -1 netns fds mean this one, and
  // the event loop runs in it.
  static Result<std::unique_ptr<PortForwarder>> create();
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // Opens and binds the rule's listening socket now, so "address already in use" is reported
  // here, and returns the rule's index. The netns fds are duplicated; the caller keeps its own.
  // Only before start().
  Result<size_t> add_rule(const ForwardRule& rule);
  // The port rule `index` listens on (the kernel's choice when the rule said 0).
  uint16_t listen_port(size_t index) const;

  // Starts the event-loop thread.
  Status start();
  // Closes the listeners and every connection, and joins the thread. Idempotent.
  void stop();

  ForwardStats stats() const;

  // The most a pipe (one per direction) grows to while a bulk transfer keeps it full: fewer,
  // larger splices. Pipes start at 64 KiB, so quiet connections hold little kernel memory.
  static constexpr size_t kPipeCapacity = 1 << 20;

 private:
  struct Listener;
  struct Connection;
  struct NetnsKey {
    uint64_t dev;
    uint64_t ino;
    auto operator<=>(const NetnsKey&) const = default;
  };

  PortForwarder() = default;
  Result<NetnsKey> key_of(int netns_fd) const;
  Result<SocketMaker*> maker_for(int netns_fd);
  Result<UniqueFd> make_target_socket(const Listener& listener);

  void run();
  void on_listener_ready(Listener& listener);
  void open_connection(Listener& listener, UniqueFd client);
  void on_connection_event(uint64_t id, bool target_side, uint32_t events);
  // Moves data both ways until both sides would block, a turn's budget is spent, or it closes.
  void service(uint64_t id, Connection& conn);
  void close_connection(uint64_t id);
  Result<SplicePipe> take_pipe();
  void recycle_pipe(SplicePipe pipe);
  void pause_listener(Listener& listener);
  int resume_paused_listeners();

  NetnsKey home_{};
  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd that stop() writes to end the loop
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::map<NetnsKey, std::unique_ptr<SocketMaker>> makers_;
  // Loop-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> again_;  // connections that used up their turn with data still flowing
  std::vector<SplicePipe> spare_pipes_;
  uint64_t next_id_ = 1;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> connect_failed_{0};
  std::atomic<uint64_t> bytes_to_target_{0};
  std::atomic<uint64_t> bytes_to_client_{0};
};

}  // namespace slipway::netns
