#include "netns/ifname.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace slipway::netns {

bool is_valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > kMaxIfnameLength || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
           c == '\v' || c == '\f';
  });
}

std::string hash_hex(std::string_view text, size_t digits) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h).substr(0, std::min<size_t>(digits, 16));
}

std::array<uint8_t, 6> stable_mac(std::string_view name) {
  std::string hex = hash_hex(name, 12);
  std::array<uint8_t, 6> mac{};
  for (size_t i = 0; i < mac.size(); ++i) mac[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  return mac;
}

}  // namespace slipway::netns
