// FNV-1a: a stable, fast, non-cryptographic hash for naming things after paths (run roots, cache
// keys). Never for anything an attacker chooses to collide.
#pragma once

#include <cstdint>
#include <string_view>

namespace slipway {

inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace slipway
