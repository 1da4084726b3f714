#include "oci/dockerfile/line_parsers.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/ascii.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The separators of buildkit's reWhitespace: no newline, which never occurs in a joined line.
bool is_token_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

// Leading --flags of an instruction. As in buildkit, quotes and backslashes inside a flag are
// resolved (always with a backslash, whatever the escape directive says).
std::pair<std::string, std::vector<std::string>> extract_flags(std::string_view line) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  const std::size_t n = line.size();
  for (std::size_t pos = 0; pos <= n; ++pos) {
    char ch = pos < n ? line[pos] : '\0';
    if (phase == kSpaces) {
      if (pos == n) break;
      if (is_ascii_space(ch)) continue;
      // Only words starting with "--" are flags; the first other word starts the arguments.
      if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
        return {std::string(line.substr(pos)), std::move(words)};
      }
      phase = kWord;
    }
    if (pos == n) {
      if (word != "--" && (blank_ok || !word.empty())) words.push_back(std::move(word));
      break;
    }
    if (phase == kWord) {
      if (is_ascii_space(ch)) {
        phase = kSpaces;
        if (word == "--") return {std::string(line.substr(pos)), std::move(words)};
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == '\\') {
        if (pos + 1 == n) continue;
        ch = line[++pos];
      }
      word.push_back(ch);
      continue;
    }
    if (ch == quote) {
      phase = kWord;
      continue;
    }
    if (ch == '\\') {
      if (pos + 1 == n) {
        phase = kWord;
        continue;
      }
      ch = line[++pos];
    }
    word.push_back(ch);
  }
  return {std::string(), std::move(words)};
}

struct Parsed {
  std::vector<std::string> args;
  bool json = false;
  std::vector<Node> nested;
};

enum class JsonOutcome { kArray, kNotJson, kNotStrings };

// A JSON array of strings, or why not: text that is no JSON array falls back to another form,
// but a JSON array holding anything but strings is an error, exactly as in buildkit.
JsonOutcome parse_json_array(std::string_view rest, std::vector<std::string>& out) {
  rest = trim_left_unicode_space(rest);
  if (!rest.starts_with('[')) return JsonOutcome::kNotJson;
  auto doc = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) return JsonOutcome::kNotJson;
  for (const auto& element : doc) {
    if (!element.is_string()) return JsonOutcome::kNotStrings;
    out.push_back(element.get<std::string>());
  }
  return JsonOutcome::kArray;
}

constexpr std::string_view kNotStrings =
    "when using JSON array syntax, arrays must be comprised of strings only";

// CMD, ENTRYPOINT, RUN, SHELL: a JSON array, or else the whole text as one shell-form string.
Result<Parsed> parse_maybe_json(std::string_view rest) {
  Parsed p;
  if (rest.empty()) return p;
  switch (parse_json_array(rest, p.args)) {
    case JsonOutcome::kArray:
      p.json = true;
      return p;
    case JsonOutcome::kNotStrings:
      return fail(std::string(kNotStrings));
    case JsonOutcome::kNotJson:
      break;
  }
  p.args = {std::string(rest)};
  return p;
}

// ADD, COPY, VOLUME: a JSON array, or else whitespace-separated words.
Result<Parsed> parse_maybe_json_to_list(std::string_view rest) {
  Parsed p;
  switch (parse_json_array(rest, p.args)) {
    case JsonOutcome::kArray:
      p.json = true;
      return p;
    case JsonOutcome::kNotStrings:
      return fail(std::string(kNotStrings));
    case JsonOutcome::kNotJson:
      break;
  }
  p.args = split_whitespace(rest);
  return p;
}

// ENV and LABEL: `KEY value with spaces` (one pair) or `k=v k2="v 2"` (many); three strings per
// pair: key, value as written, and the separator ("" or "=").
Result<Parsed> parse_name_value(std::string_view rest, std::string_view what, char escape) {
  Parsed p;
  std::vector<std::string> words = split_words(rest, escape);
  if (words.empty()) return p;
  if (words[0].find('=') == std::string::npos) {
    std::size_t key_end = 0;
    while (key_end < rest.size() && !is_token_space(rest[key_end])) ++key_end;
    std::size_t value_start = key_end;
    while (value_start < rest.size() && is_token_space(rest[value_start])) ++value_start;
    if (key_end == rest.size()) return fail("{} must have two arguments", what);
    p.args = {std::string(rest.substr(0, key_end)), std::string(rest.substr(value_start)), ""};
    return p;
  }
  for (const std::string& word : words) {
    std::size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return fail("syntax error - can't find = in {}. Must be of the form: name=value",
                  go_quote(word));
    }
    p.args.push_back(word.substr(0, eq));
    p.args.push_back(word.substr(eq + 1));
    p.args.push_back("=");
  }
  return p;
}

// HEALTHCHECK: the type word (NONE, CMD, ...) then the command like CMD's.
Result<Parsed> parse_health(std::string_view rest) {
  Parsed p;
  std::size_t sep = 0;
  while (sep < rest.size() && !is_ascii_space(rest[sep])) ++sep;
  if (sep == 0) return p;
  std::size_t next = sep;
  while (next < rest.size() && is_ascii_space(rest[next])) ++next;
  Parsed command = SLW_TRY(parse_maybe_json(rest.substr(next)));
  p.args.push_back(std::string(rest.substr(0, sep)));
  p.args.insert(p.args.end(), command.args.begin(), command.args.end());
  p.json = command.json;
  return p;
}

Result<Parsed> parse_arguments(std::string_view keyword, std::string_view rest, char escape) {
  Parsed p;
  if (keyword == "add" || keyword == "copy" || keyword == "volume") {
    return parse_maybe_json_to_list(rest);
  }
  if (keyword == "cmd" || keyword == "entrypoint" || keyword == "run" || keyword == "shell") {
    return parse_maybe_json(rest);
  }
  if (keyword == "env") return parse_name_value(rest, "ENV", escape);
  if (keyword == "label") return parse_name_value(rest, "LABEL", escape);
  if (keyword == "arg") {
    p.args = split_words(rest, escape);
    return p;
  }
  if (keyword == "expose" || keyword == "from") {
    p.args = split_whitespace(rest);
    return p;
  }
  if (keyword == "healthcheck") return parse_health(rest);
  if (keyword == "maintainer" || keyword == "stopsignal" || keyword == "user" ||
      keyword == "workdir") {
    if (!rest.empty()) p.args.push_back(std::string(rest));
    return p;
  }
  if (keyword == "onbuild") {
    if (!rest.empty()) p.nested.push_back(SLW_TRY(node_from_line(rest, escape)));
    return p;
  }
  // Unknown words parse (buildkit keeps them with one empty argument); the typed layer rejects
  // them with their line number.
  p.args.push_back("");
  return p;
}

}  // namespace

SplitLine split_line(std::string_view line) {
  SplitLine out;
  std::string_view trimmed = trim_unicode_space(line);
  std::size_t end = 0;
  while (end < trimmed.size() && !is_token_space(trimmed[end])) ++end;
  out.keyword = std::string(trimmed.substr(0, end));
  std::size_t start = end;
  while (start < trimmed.size() && is_token_space(trimmed[start])) ++start;
  if (end < trimmed.size()) {
    auto [rest, flags] = extract_flags(trimmed.substr(start));
    out.flags = std::move(flags);
    out.rest = std::string(trim_unicode_space(rest));
  }
  return out;
}

std::vector<std::string> split_words(std::string_view text, char escape_char) {
  const char32_t escape = static_cast<unsigned char>(escape_char);
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  const std::size_t n = text.size();
  DecodedRune ch;
  for (std::size_t pos = 0; pos <= n; pos += ch.size) {
    if (pos != n) ch = decode_utf8(text, pos);
    if (phase == kSpaces) {
      if (pos == n) break;
      if (ch.valid && is_unicode_space(ch.rune)) continue;
      phase = kWord;
    }
    if (pos == n) {
      if (blank_ok || !word.empty()) words.push_back(std::move(word));
      break;
    }
    if (phase == kWord) {
      if (ch.valid && is_unicode_space(ch.rune)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch.rune == '\'' || ch.rune == '"') {
        quote = ch.rune;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch.rune == escape) {
        if (pos + ch.size == n) continue;  // an escape at the very end is dropped
        // Outside quotes the escape and the character after it are both kept, even a quote.
        word.append(text.substr(pos, ch.size));
        pos += ch.size;
        ch = decode_utf8(text, pos);
      }
      word.append(text.substr(pos, ch.size));
      continue;
    }
    if (ch.rune == quote) phase = kWord;
    // Inside '...' nothing escapes; inside "..." the escape keeps the next character in.
    if (ch.rune == escape && quote != '\'') {
      if (pos + ch.size == n) {
        phase = kWord;
        continue;
      }
      word.append(text.substr(pos, ch.size));
      pos += ch.size;
      ch = decode_utf8(text, pos);
    }
    word.append(text.substr(pos, ch.size));
  }
  return words;
}

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  // Like Go's regexp.Split: a leading or trailing separator yields an empty field.
  std::size_t start = 0;
  for (;;) {
    std::size_t sep = start;
    while (sep < text.size() && !is_token_space(text[sep])) ++sep;
    out.emplace_back(text.substr(start, sep - start));
    if (sep == text.size()) break;
    while (sep < text.size() && is_token_space(text[sep])) ++sep;
    start = sep;
  }
  return out;
}

Result<Node> node_from_line(std::string_view line, char escape) {
  SplitLine split = split_line(line);
  Node node;
  node.keyword = ascii_lower(split.keyword);
  node.flags = std::move(split.flags);
  node.original = std::string(line);
  Parsed parsed = SLW_TRY(parse_arguments(node.keyword, split.rest, escape));
  node.args = std::move(parsed.args);
  node.json = parsed.json;
  node.nested = std::move(parsed.nested);
  return node;
}

}  // namespace slipway::oci
