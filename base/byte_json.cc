#include "base/byte_json.h"

#include <cstdint>
#include <utility>

namespace slipway {
namespace {

constexpr char kMarker = '\0';

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(1, kMarker);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A marked string back to its bytes; anything else as it is.
std::string from_marked(const std::string& s) {
  if (s.empty() || s[0] != kMarker || s.size() % 2 == 0) return s;
  std::string out;
  out.reserve(s.size() / 2);
  for (size_t i = 1; i + 1 < s.size(); i += 2) {
    int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
    if (hi < 0 || lo < 0) return s;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string to_marked(std::string s) { return valid_utf8(s) && (s.empty() || s[0] != kMarker) ? s : to_hex(s); }

template <class Convert>
void convert_strings(nlohmann::json& doc, Convert convert) {
  if (doc.is_string()) {
    doc = convert(doc.get<std::string>());
  } else if (doc.is_array()) {
    for (auto& e : doc) convert_strings(e, convert);
  } else if (doc.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [key, value] : doc.items()) {
      convert_strings(value, convert);
      out[convert(key)] = std::move(value);
    }
    doc = std::move(out);
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

void encode_byte_strings(nlohmann::json& doc) { convert_strings(doc, to_marked); }
void decode_byte_strings(nlohmann::json& doc) { convert_strings(doc, from_marked); }

std::string dump_byte_safe(nlohmann::json doc, int indent) {
  encode_byte_strings(doc);
  return doc.dump(indent);
}

}  // namespace slipway
