// The per-instruction line parsers: one joined instruction line -> a Node. Kept apart from the
// line scanner (continuations, directives, heredocs) because each has its own quirks to match.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/dockerfile/ast.h"

namespace slipway::oci {

struct SplitLine {
  std::string keyword;             // as written: "RUN", "run", "Run"
  std::vector<std::string> flags;  // leading --flags, quotes and backslashes resolved
  std::string rest;                // the arguments, trimmed
};

// "COPY --from=a -- x y" -> {"COPY", {"--from=a"}, "x y"}. A bare "--" ends the flags.
SplitLine split_line(std::string_view line);

// Shell-like words that keep their quotes and escapes: `a "b c" d\ e` -> a, "b c", d\ e.
std::vector<std::string> split_words(std::string_view text, char escape);

// Splits on runs of tab, vertical tab, form feed, carriage return and space.
std::vector<std::string> split_whitespace(std::string_view text);

// Builds the node for one joined instruction line; errors are messages without a location.
Result<Node> node_from_line(std::string_view line, char escape);

}  // namespace slipway::oci
