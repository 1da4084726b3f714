// IPv4 addresses and CIDR subnets as plain values: parsing, containment, overlap, nth host.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::netns {

struct Ipv4 {
  uint32_t value = 0;  // host byte order
  auto operator<=>(const Ipv4&) const = default;
  std::string to_string() const;
};

struct Cidr {
  Ipv4 network;  // masked: host bits are zero
  int prefix = 0;
  bool operator==(const Cidr&) const = default;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip.value & mask()) == network.value; }
  bool overlaps(const Cidr& other) const;
  Ipv4 broadcast() const { return {network.value | ~mask()}; }
  // The nth address of the subnet (0 is the network address itself).
  Ipv4 host(uint32_t n) const { return {network.value + n}; }
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  std::string to_string() const;
};

Result<Ipv4> parse_ipv4(std::string_view text);
// "172.18.0.0/16"; host bits set ("172.18.0.1/16") are an error, as Docker makes them.
Result<Cidr> parse_cidr(std::string_view text);

}  // namespace slipway::netns
