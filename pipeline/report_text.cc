#include "pipeline/report_text.h"

#include <ctime>

#include <fmt/format.h>

namespace slipway::pipeline {
namespace {

// Skips one terminal escape sequence starting at s[i] == ESC; returns the index after it.
size_t skip_escape(std::string_view s, size_t i) {
  ++i;
  if (i >= s.size()) return i;
  if (s[i] == '[') {  // CSI: parameter and intermediate bytes, then one final byte
    for (++i; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x40 && c <= 0x7e) return i + 1;
      if (c < 0x20 || c > 0x3f) return i;  // malformed: keep what follows
    }
    return i;
  }
  if (s[i] == ']') {  // OSC (window titles, hyperlinks): ends at BEL or ESC backslash
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\a') return i + 1;
      if (s[i] == '\x1b') return (i + 1 < s.size() && s[i + 1] == '\\') ? i + 2 : i;
    }
    return i;
  }
  // Two-byte escapes (ESC 7, ESC M...); anything else was a stray ESC and keeps what follows.
  return (s[i] >= 0x30 && s[i] <= 0x7e) ? i + 1 : i;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one (overlong, surrogate, cut).
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  // U+FFFE and U+FFFF are not characters in XML.
  if (n == 3 && c == 0xef && byte(i + 1) == 0xbf && byte(i + 2) >= 0xbe) return 0;
  return n;
}

}  // namespace

std::string clean_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      i = skip_escape(s, i);
    } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      ++i;
    } else if (size_t n = utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

std::string escape(std::string_view raw, bool attribute) {
  std::string s = clean_text(raw);
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += attribute ? "&#13;" : "\r";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string seconds(int64_t ms) {
  return fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
}

std::string iso_utc(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}


}  // namespace slipway::pipeline
