// The resolvers the service DNS forwards outside names to: parsed from the host's resolv.conf.
// The server runs in the host's namespace, so even a stub at 127.0.0.53 is reachable from it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::netns {

struct DnsUpstream {
  std::string address;  // an IPv4 or IPv6 literal; IPv6 may carry a %scope
  uint16_t port = 53;
  bool operator==(const DnsUpstream&) const = default;
  // "10.0.0.2:53", "[fe80::1%eth0]:53"
  std::string to_string() const;
};

// The "nameserver ADDRESS" lines of a resolv.conf, in order, without duplicates; lines that are
// not a valid address are skipped, as the C library skips them.
std::vector<DnsUpstream> parse_resolv_conf_nameservers(std::string_view text);

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

Result<SocketAddress> to_socket_address(const DnsUpstream& upstream);

}  // namespace slipway::netns
