// The Dockerfile parse tree: one Node per instruction, as buildkit's line parser builds it, before
// any typing or substitution. Arguments are kept as written (quotes included) except where the
// instruction's line parser splits or decodes them (JSON arrays, ENV/LABEL pairs).
#pragma once

#include <string>
#include <vector>

namespace slipway::oci {

// A here-document attached to RUN, COPY or ADD: `<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`.
struct Heredoc {
  std::string name;     // the terminator word, quotes removed
  unsigned fd = 0;      // the digits before "<<", 0 when none
  bool expand = true;   // false when any part of the terminator was quoted
  bool chomp = false;   // `<<-`: leading tabs are stripped from the body
  std::string content;  // the body lines with their newlines, exactly as read (never chomped)
};

struct Node {
  std::string keyword;             // lower case: "run", "copy"; unknown words are kept too
  std::vector<std::string> flags;  // "--from=build", as written before the arguments
  std::vector<std::string> args;   // see the line parsers; ENV/LABEL: key, value, separator...
  bool json = false;               // arguments came from a JSON array (exec form)
  std::vector<Node> nested;        // ONBUILD's instruction (at most one); args is then empty
  std::vector<Heredoc> heredocs;
  std::string original;               // the instruction text after joining continuation lines
  std::vector<std::string> comments;  // comment lines right before the instruction
  int start_line = 0;                 // 1-based, first line of the instruction
  int end_line = 0;                   // last line, including continuation and heredoc lines
};

struct Ast {
  std::string file;    // name used in error messages, e.g. "Dockerfile"
  char escape = '\\';  // from the `# escape=` directive
  std::string syntax;  // from the `# syntax=` directive, or empty
  std::vector<Node> nodes;
  std::vector<std::string> warnings;  // e.g. empty continuation lines
  int start_line = 0;                 // first line of the first instruction
  int end_line = 0;                   // last line of the last instruction
};

// buildkit's parse-tree dump, one line per instruction: (cmd ["--flag"] "arg" ...), newline at end.
std::string dump_ast(const Ast& ast);
// One node without the enclosing parentheses: `copy ["--from=a"] "x" "/y"`.
std::string dump_node(const Node& node);

}  // namespace slipway::oci
