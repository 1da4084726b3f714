#include "oci/dockerfile/heredoc.h"

#include <algorithm>

#include "oci/dockerfile/substitution.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

std::size_t count_quotes(std::string_view text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\'') +
                                  std::count(text.begin(), text.end(), '"'));
}

}  // namespace

Result<std::optional<Heredoc>> parse_heredoc(std::string_view word) {
  // ^(\d*)<<(-?)\s*([^<]*)$
  std::size_t pos = 0;
  while (pos < word.size() && word[pos] >= '0' && word[pos] <= '9') ++pos;
  std::string_view digits = word.substr(0, pos);
  if (word.substr(pos, 2) != "<<") return std::nullopt;
  pos += 2;
  Heredoc heredoc;
  if (pos < word.size() && word[pos] == '-') {
    heredoc.chomp = true;
    ++pos;
  }
  while (pos < word.size() && is_regex_space(word[pos])) ++pos;
  std::string_view rest = word.substr(pos);
  if (rest.find('<') != std::string_view::npos || rest.empty()) return std::nullopt;
  for (char c : digits) {
    heredoc.fd = heredoc.fd * 10 + static_cast<unsigned>(c - '0');
    if (heredoc.fd > 0xFFFF) return fail("heredoc file descriptor {} is too large", digits);
  }

  // Lex the terminator with and without quote removal: if the counts of quote characters differ,
  // some part was quoted (escaped quotes count the same both ways), so the body is not expanded.
  ShellLexOptions options;
  options.skip_unset = true;
  const VarMap no_vars;
  Substitution plain = SLW_TRY(substitute(rest, no_vars, options));
  if (plain.words.size() != 1) return std::nullopt;
  options.raw_quotes = true;
  Substitution raw = SLW_TRY(substitute(rest, no_vars, options));
  if (raw.words.size() != 1) {
    return fail("internal lexing of heredoc produced inconsistent results: {}", rest);
  }
  heredoc.name = plain.words[0];
  heredoc.expand = count_quotes(plain.words[0]) == count_quotes(raw.words[0]);
  return heredoc;
}

Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line) {
  // Quotes, escapes and $VARS stay as written so that "<<EOF" in quotes is not taken for one.
  ShellLexOptions options;
  options.raw_quotes = true;
  options.raw_escapes = true;
  options.skip_unset = true;
  options.heredoc_words = true;
  std::vector<Heredoc> docs;
  auto words = substitute(line, VarMap{}, options);
  if (!words) return docs;  // a line the lexer cannot split holds no heredoc, as in buildkit
  for (const std::string& word : words->words) {
    std::optional<Heredoc> heredoc = SLW_TRY(parse_heredoc(word));
    if (heredoc) docs.push_back(std::move(*heredoc));
  }
  return docs;
}

std::string chomp_heredoc(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out.push_back(c);
  }
  return out;
}

bool can_contain_heredoc(const Node& node) {
  const Node* n = &node;
  if (n->keyword == "onbuild" && !n->nested.empty()) n = &n->nested[0];
  if (n->keyword != "run" && n->keyword != "copy" && n->keyword != "add") return false;
  return !n->json;
}

}  // namespace slipway::oci
