// Text helpers shared by the Dockerfile parser, the shell lexer and .dockerignore: UTF-8 decoding
// and the few Unicode classes Go's parsers use, so that slipway splits words where buildkit does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace slipway::oci {

struct DecodedRune {
  char32_t rune = 0;     // U+FFFD for an invalid byte
  std::size_t size = 0;  // bytes consumed, 1 for an invalid byte
  bool valid = true;
};

// Decodes the code point at text[pos] (pos < text.size()).
DecodedRune decode_utf8(std::string_view text, std::size_t pos);
void append_utf8(std::string& out, char32_t rune);

// Go's unicode.IsSpace: ASCII and Latin-1 spaces plus the Unicode White_Space characters.
bool is_unicode_space(char32_t rune);
// Go's unicode.IsLetter, exact for ASCII and Latin-1; beyond that every code point outside the
// punctuation, symbol and space blocks counts as a letter (what variable names need).
bool is_unicode_letter(char32_t rune);

// RE2's \s (what the directive and heredoc patterns use): ASCII space, \t, \n, \f, \r.
inline bool is_regex_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// strings.TrimSpace / TrimLeftFunc(IsSpace) with Go's notion of space.
std::string_view trim_unicode_space(std::string_view text);
std::string_view trim_left_unicode_space(std::string_view text);

// Go's strconv.Quote: a double-quoted string with \\ \" \n \t \xNN ... escapes and printable
// Unicode kept as is. This is the format of buildkit's parse-tree dump.
std::string go_quote(std::string_view text);

}  // namespace slipway::oci
