// One TCP port forward as a plain value, and the pure parsers for its two CLI forms:
//   --forward [ADDR:]PORT=HOST:PORT   listen inside the container, connect on the host
//   -p [HOSTADDR:]HOSTPORT:PORT       listen on the host, connect into the container
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "netns/cidr.h"

namespace slipway::netns {

inline constexpr Ipv4 kLoopback{0x7f000001};  // 127.0.0.1
inline constexpr Ipv4 kAnyAddress{0};         // 0.0.0.0

struct ForwardRule {
  // Which CLI form made the rule; only used to say where the listener lives in messages.
  enum class Direction { kForward, kPublish };

  Direction direction = Direction::kForward;
  int listen_netns_fd = -1;  // -1: the namespace of the thread that made the PortForwarder
  Ipv4 listen_address = kLoopback;
  uint16_t listen_port = 0;   // 0: any free port (PortForwarder::listen_port tells which)
  int connect_netns_fd = -1;  // -1: as for listen_netns_fd
  Ipv4 target_address = kLoopback;
  uint16_t target_port = 0;

  // "127.0.0.1:6379 -> 127.0.0.1:6379"
  std::string to_string() const;
  // "forward 127.0.0.1:6379" or "publish 0.0.0.0:8080": what the user named on the command line.
  std::string listen_label() const;
  // "in the container's network namespace" or "on the host".
  std::string_view listen_place() const;
};

// A TCP port, 1-65535, decimal digits only.
Result<uint16_t> parse_port(std::string_view text);

// --forward [ADDR:]PORT=HOST:PORT. ADDR (the listen address in the container) defaults to
// 127.0.0.1; HOST is an IPv4 address or "localhost". Both netns fds are left at -1 for the caller.
Result<ForwardRule> parse_forward_spec(std::string_view spec);

// -p [HOSTADDR:][HOSTPORT:]PORT[/tcp], as Docker spells it. HOSTADDR defaults to 0.0.0.0; an
// empty or missing HOSTPORT means any free port. The target is 127.0.0.1:PORT and is meant to be
// reached with connect_netns_fd set to the container's namespace, so a service bound to the
// container's loopback is reachable too; a caller may instead aim at the container's address.
Result<ForwardRule> parse_publish_spec(std::string_view spec);

}  // namespace slipway::netns
