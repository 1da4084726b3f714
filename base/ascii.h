// Locale-independent ASCII case folding, for protocol tokens (HTTP header names, auth schemes)
// and names Docker compares case-insensitively (stage names).
#pragma once

#include <string>
#include <string_view>

namespace slipway {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace slipway
