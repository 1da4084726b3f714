// The small wildcard language of ${V#pattern}, ${V%pattern} and ${V/pattern/repl}: `*` any run,
// `?` one character, `\*` `\?` `\\` literals (`\}` and `\/` drop the backslash). As in buildkit,
// where these patterns become Go regular expressions, wildcards never match a newline.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

class ShellPattern {
 public:
  static Result<ShellPattern> compile(std::string_view pattern);

  // ${V#p} and ${V##p}: value without its shortest (longest when greedy) matching prefix.
  std::string trim_prefix(std::string_view value, bool greedy) const;
  // ${V%p} and ${V%%p}: value without its shortest (longest when greedy) matching suffix.
  std::string trim_suffix(std::string_view value, bool greedy) const;
  // ${V/p/r} and ${V//p/r}: the leftmost (every) longest match replaced by replacement.
  std::string replace(std::string_view value, std::string_view replacement, bool all) const;

 private:
  enum class Kind { kLiteral, kAnyOne, kAnyRun };
  struct Token {
    Kind kind;
    char32_t rune = 0;  // for kLiteral
  };
  std::vector<Token> tokens_;
};

}  // namespace slipway::oci
