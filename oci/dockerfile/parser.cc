#include "oci/dockerfile/parser.h"

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "oci/dockerfile/heredoc.h"
#include "oci/dockerfile/line_parsers.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Lines with their line endings, like bufio.Scanner with buildkit's scanLines.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::size_t len = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(0, len));
    text.remove_prefix(len);
  }
  return lines;
}

std::string_view trim_newline(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

bool is_comment(std::string_view line) {
  return trim_left_unicode_space(trim_newline(line)).starts_with('#');
}

// `# key = value` as matched by ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$.
std::optional<std::pair<std::string, std::string>> match_directive(std::string_view token) {
  if (!token.starts_with('#')) return std::nullopt;
  std::size_t pos = 1;
  while (pos < token.size() && is_regex_space(token[pos])) ++pos;
  const std::size_t key_start = pos;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (pos >= token.size() || !alpha(token[pos])) return std::nullopt;
  while (pos < token.size() && (alpha(token[pos]) || (token[pos] >= '0' && token[pos] <= '9'))) {
    ++pos;
  }
  std::string key(token.substr(key_start, pos - key_start));
  while (pos < token.size() && is_regex_space(token[pos])) ++pos;
  if (pos >= token.size() || token[pos] != '=') return std::nullopt;
  std::string_view after = token.substr(pos + 1);
  if (after.empty()) return std::nullopt;
  std::size_t start = 0;
  while (start < after.size() && is_regex_space(after[start])) ++start;
  // All blanks: the lazy (.+?) still takes one character, the last one.
  if (start == after.size()) return std::pair{key, std::string(after.substr(after.size() - 1))};
  std::size_t end = after.size();
  while (end > start && is_regex_space(after[end - 1])) --end;
  return std::pair{key, std::string(after.substr(start, end - start))};
}

class LineScanner {
 public:
  LineScanner(std::string_view text, std::string_view file) : lines_(split_lines(text)) {
    ast_.file = std::string(file);
  }

  Result<Ast> run() {
    std::vector<std::string> comments;
    while (index_ < lines_.size()) {
      std::string_view raw = lines_[index_++];
      if (current_ == 0 && raw.starts_with(kUtf8Bom)) raw.remove_prefix(kUtf8Bom.size());
      if (is_comment(raw)) {
        std::string_view text = trim_left_unicode_space(trim_newline(raw)).substr(1);
        comments.emplace_back(trim_unicode_space(text));
      }
      std::string_view token = SLW_TRY(process_line(raw, true));
      ++current_;
      const int start = current_;
      auto [line, end_of_line] = trim_continuation(token);
      if (end_of_line && line.empty()) {
        if (!is_comment(raw)) comments.clear();  // a blank line detaches comments above it
        continue;
      }
      std::string joined(line);
      bool empty_continuation = false;
      while (!end_of_line && index_ < lines_.size()) {
        raw = lines_[index_++];
        token = SLW_TRY(process_line(raw, false));
        ++current_;
        if (is_comment(raw)) continue;  // comments inside a continuation are dropped
        if (trim_left_unicode_space(token).empty()) {
          empty_continuation = true;
          continue;
        }
        auto [part, eol] = trim_continuation(token);
        joined += part;
        end_of_line = eol;
      }
      if (empty_continuation) {
        ast_.warnings.push_back(
            fmt::format("{}:{}: empty continuation line in this instruction; future Dockerfile "
                        "syntax rejects it",
                        ast_.file, start));
      }
      auto node = node_from_line(joined, escape_);
      if (!node) return fail("{}:{}: {}", ast_.file, start, node.error().message());
      SLW_TRY(read_heredocs(*node, joined, start));
      node->start_line = start;
      node->end_line = current_;
      node->comments = std::move(comments);
      comments.clear();
      ast_.nodes.push_back(std::move(*node));
    }
    if (ast_.nodes.empty()) return fail("{}: file with no instructions", ast_.file);
    ast_.escape = escape_;
    ast_.start_line = ast_.nodes.front().start_line;
    ast_.end_line = ast_.nodes.back().end_line;
    return std::move(ast_);
  }

 private:
  // Strips the line ending (and leading blanks on an instruction's first line), looks for a
  // parser directive while they are still allowed, and blanks out comments.
  Result<std::string_view> process_line(std::string_view raw, bool strip_left) {
    std::string_view token = trim_newline(raw);
    if (strip_left) token = trim_left_unicode_space(token);
    SLW_TRY(possible_directive(token, current_ + 1));
    if (is_comment(token)) return std::string_view();
    return token;
  }

  // Directives are only recognized before anything else: the first line that is not a known
  // directive (a comment, a blank line, an instruction) ends the search.
  Status possible_directive(std::string_view token, int line) {
    if (directives_done_) return {};
    auto match = match_directive(token);
    if (!match) {
      directives_done_ = true;
      return {};
    }
    std::string key = ascii_lower(match->first);
    if (key != "escape" && key != "syntax") {
      directives_done_ = true;
      return {};
    }
    if (!seen_directives_.insert(key).second) {
      return fail("{}:{}: only one {} parser directive can be used", ast_.file, line, key);
    }
    if (key == "syntax") {
      ast_.syntax = match->second;
    } else if (match->second == "\\" || match->second == "`") {
      escape_ = match->second[0];
    } else {
      return fail("{}:{}: invalid escape token '{}' does not match ` or \\", ast_.file, line,
                  match->second);
    }
    return {};
  }

  // An escape character ending the line (blanks after it allowed) continues the instruction on
  // the next line, unless it is itself escaped ("path\\" ends the line).
  std::pair<std::string_view, bool> trim_continuation(std::string_view line) const {
    std::size_t end = line.size();
    while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
    if (end == 0 || line[end - 1] != escape_) return {line, true};
    const std::size_t escape_at = end - 1;
    if (escape_at == 0) return {std::string_view(), false};
    if (line[escape_at - 1] == escape_) return {line, true};
    return {line.substr(0, escape_at), false};
  }

  // The bodies follow the instruction line, one heredoc after the other, each up to a line that
  // is exactly its terminator (after leading tabs for <<-).
  Status read_heredocs(Node& node, std::string_view line, int start) {
    if (!can_contain_heredoc(node) || line.find("<<") == std::string_view::npos) return {};
    auto heredocs = heredocs_from_line(line);
    if (!heredocs) return fail("{}:{}: {}", ast_.file, start, heredocs.error().message());
    for (Heredoc& heredoc : *heredocs) {
      bool terminated = false;
      while (index_ < lines_.size()) {
        std::string_view raw = lines_[index_++];
        ++current_;
        std::string_view terminator = trim_newline(raw);
        if (heredoc.chomp) {
          while (terminator.starts_with('\t')) terminator.remove_prefix(1);
        }
        if (terminator == heredoc.name) {
          terminated = true;
          break;
        }
        heredoc.content += raw;
      }
      if (!terminated) {
        return fail("{}:{}: unterminated heredoc <<{}: no line {} before the end of the file",
                    ast_.file, start, heredoc.name, heredoc.name);
      }
      node.heredocs.push_back(std::move(heredoc));
    }
    return {};
  }

  std::vector<std::string_view> lines_;
  std::size_t index_ = 0;
  int current_ = 0;  // number of the last line read
  char escape_ = '\\';
  bool directives_done_ = false;
  std::set<std::string> seen_directives_;
  Ast ast_;
};

}  // namespace

Result<Ast> parse_dockerfile_ast(std::string_view text, std::string_view file) {
  return LineScanner(text, file).run();
}

}  // namespace slipway::oci
