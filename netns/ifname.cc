#include "netns/ifname.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>

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

}  // namespace slipway::netns
