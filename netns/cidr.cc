#include "netns/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace slipway::netns {

std::string Ipv4::to_string() const {
  return fmt::format("{}.{}.{}.{}", value >> 24, (value >> 16) & 255, (value >> 8) & 255,
                     value & 255);
}

std::string Cidr::to_string() const {
  return fmt::format("{}/{}", network.to_string(), prefix);
}

bool Cidr::overlaps(const Cidr& other) const {
  int p = std::min(prefix, other.prefix);
  uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
  return (network.value & m) == (other.network.value & m);
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  in_addr a;
  std::string s(text);
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return fail("invalid IPv4 address \"{}\"", text);
  return Ipv4{ntohl(a.s_addr)};
}

Result<Cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return fail("invalid subnet \"{}\": want ADDRESS/PREFIX", text);
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return fail("invalid subnet \"{}\": bad address", text);
  std::string_view p = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (ec != std::errc() || end != p.data() + p.size() || prefix < 0 || prefix > 32)
    return fail("invalid subnet \"{}\": prefix must be 0-32", text);
  Cidr c{*ip, prefix};
  if ((ip->value & c.mask()) != ip->value)
    return fail("invalid subnet \"{}\": host bits set (did you mean {}/{}?)", text,
                Ipv4{ip->value & c.mask()}.to_string(), prefix);
  return c;
}

}  // namespace slipway::netns
