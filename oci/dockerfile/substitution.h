// Docker's variable substitution: the small shell lexer of buildkit's shell package. It expands
// $V, ${V}, ${V:-w}, ${V-w}, ${V:+w}, ${V+w}, ${V:?msg}, ${V?msg}, ${V#p}, ${V##p}, ${V%p},
// ${V%%p}, ${V/p/r} and ${V//p/r}, removes quotes (nothing is substituted inside '...') and
// escapes (the Dockerfile's escape character), and splits words where a shell would.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

// Variables visible to substitution: name -> value (an empty value is set, not unset).
using VarMap = std::map<std::string, std::string, std::less<>>;

struct ShellLexOptions {
  char escape = '\\';          // the Dockerfile's escape directive: '\\' or '`'
  bool raw_quotes = false;     // keep quote characters in the output
  bool raw_escapes = false;    // keep escape characters in the output
  bool skip_unset = false;     // leave references to unset variables as written
  bool skip_quotes = false;    // quotes are plain characters (heredoc bodies are scripts)
  bool heredoc_words = false;  // "<<  EOF" stays one word (finding heredocs in a line)
};

struct Substitution {
  std::string word;                // the text after substitution and quote removal
  std::vector<std::string> words;  // the same, split into words (quoted spaces do not split)
  std::set<std::string> used;      // variables referenced that were set
  std::set<std::string> unset;     // variables referenced that were not set
};

// Errors read: failed to process "${X?}": X: is not allowed to be unset.
Result<Substitution> substitute(std::string_view text, const VarMap& vars,
                                const ShellLexOptions& options = {});

// One word, as for ENV values, WORKDIR, COPY paths: ProcessWord in buildkit.
Result<std::string> substitute_word(std::string_view text, const VarMap& vars, char escape = '\\');
// Several words, as for EXPOSE: ProcessWords in buildkit.
Result<std::vector<std::string>> substitute_words(std::string_view text, const VarMap& vars,
                                                  char escape = '\\');

}  // namespace slipway::oci
