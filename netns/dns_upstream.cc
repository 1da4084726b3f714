#include "netns/dns_upstream.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

namespace slipway::netns {

std::string DnsUpstream::to_string() const {
  if (address.find(':') != std::string::npos) return fmt::format("[{}]:{}", address, port);
  return fmt::format("{}:{}", address, port);
}

std::vector<DnsUpstream> parse_resolv_conf_nameservers(std::string_view text) {
  std::vector<DnsUpstream> out;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (auto comment = line.find_first_of("#;"); comment != std::string_view::npos)
      line = line.substr(0, comment);
    auto next_word = [&line]() {
      size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string_view::npos) return std::string_view();
      size_t end = line.find_first_of(" \t\r", start);
      std::string_view word = line.substr(start, end - start);
      line = end == std::string_view::npos ? std::string_view() : line.substr(end);
      return word;
    };
    if (next_word() != "nameserver") continue;
    DnsUpstream upstream{std::string(next_word()), 53};
    if (upstream.address.empty() || !to_socket_address(upstream)) continue;
    if (std::find(out.begin(), out.end(), upstream) == out.end()) out.push_back(upstream);
  }
  return out;
}

Result<SocketAddress> to_socket_address(const DnsUpstream& upstream) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(upstream.port);
  int rc = ::getaddrinfo(upstream.address.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || !found)
    return fail("upstream DNS server \"{}\": not an IP address", upstream.address);
  SocketAddress sa;
  std::memcpy(&sa.storage, found->ai_addr, found->ai_addrlen);
  sa.length = found->ai_addrlen;
  ::freeaddrinfo(found);
  return sa;
}

}  // namespace slipway::netns
