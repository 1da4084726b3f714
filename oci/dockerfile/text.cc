#include "oci/dockerfile/text.h"

#include <fmt/core.h>

namespace slipway::oci {

DecodedRune decode_utf8(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) return {b0, 1, true};
  const DecodedRune invalid{0xFFFD, 1, false};
  std::size_t size = 0;
  char32_t rune = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    size = 2, rune = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    size = 3, rune = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    size = 4, rune = b0 & 0x07, min = 0x10000;
  } else {
    return invalid;
  }
  if (pos + size > text.size()) return invalid;
  for (std::size_t i = 1; i < size; ++i) {
    const unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return invalid;
    rune = (rune << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if (rune < min || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF)) return invalid;
  return {rune, size, true};
}

void append_utf8(std::string& out, char32_t rune) {
  if (rune < 0x80) {
    out.push_back(static_cast<char>(rune));
  } else if (rune < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (rune >> 6)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  } else if (rune < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (rune >> 12)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (rune >> 18)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((rune >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (rune & 0x3F)));
  }
}

bool is_unicode_space(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

bool is_unicode_letter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  if (r < 0x100) {
    return r == 0xAA || r == 0xB5 || r == 0xBA || (r >= 0xC0 && r != 0xD7 && r != 0xF7);
  }
  if (is_unicode_space(r)) return false;
  // General punctuation, symbols, arrows, math, box drawing, CJK punctuation, private use,
  // fullwidth ASCII punctuation and specials are not letters.
  if (r >= 0x2000 && r <= 0x2BFF) return false;
  if (r >= 0x3000 && r <= 0x303F) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if (r >= 0xFF00 && r <= 0xFF20) return false;
  if (r >= 0xFFF0) return r >= 0x10000 && r < 0xF0000;
  return true;
}

std::string_view trim_left_unicode_space(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    DecodedRune d = decode_utf8(text, pos);
    if (!d.valid || !is_unicode_space(d.rune)) break;
    pos += d.size;
  }
  return text.substr(pos);
}

std::string_view trim_unicode_space(std::string_view text) {
  text = trim_left_unicode_space(text);
  // Walk forward remembering where the last non-space rune ended: UTF-8 is not easy to scan back.
  std::size_t end = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    DecodedRune d = decode_utf8(text, pos);
    pos += d.size;
    if (!d.valid || !is_unicode_space(d.rune)) end = pos;
  }
  return text.substr(0, end);
}

// strconv.IsPrint for the code points a Dockerfile realistically holds: controls, spaces other
// than U+0020, format characters, private use and noncharacters are escaped.
static bool is_go_printable(char32_t r) {
  if (r < 0x20 || r == 0x7F) return false;
  if (r < 0x7F) return true;
  if (r < 0xA1 || r == 0xAD) return false;
  if (is_unicode_space(r)) return false;
  if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x180E) {
    return false;
  }
  if ((r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E)) return false;
  if (r >= 0x2060 && r <= 0x206F) return false;
  if (r >= 0xD800 && r <= 0xF8FF) return false;  // surrogates and private use
  if (r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || r == 0xFFFE || r == 0xFFFF) return false;
  if (r >= 0xE0000) return false;
  return true;
}

std::string go_quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t pos = 0; pos < text.size();) {
    DecodedRune d = decode_utf8(text, pos);
    if (!d.valid) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(text[pos]));
      pos += 1;
      continue;
    }
    const char32_t r = d.rune;
    if (r == '"' || r == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(r));
    } else if (is_go_printable(r)) {
      out.append(text.substr(pos, d.size));
    } else {
      switch (r) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (r < ' ' || r == 0x7F) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned>(r));
          } else if (r < 0x10000) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(r));
          } else {
            out += fmt::format("\\U{:08x}", static_cast<unsigned>(r));
          }
      }
    }
    pos += d.size;
  }
  out.push_back('"');
  return out;
}

}  // namespace slipway::oci
