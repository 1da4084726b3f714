#include "oci/dockerfile/shell_pattern.h"

#include <algorithm>
#include <optional>

#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

// A value split into code points, keeping byte offsets so results are cut from the original bytes.
struct Subject {
  std::vector<char32_t> runes;
  std::vector<std::size_t> offsets;  // offsets[i] = byte offset of rune i; offsets[n] = size

  explicit Subject(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
      DecodedRune d = decode_utf8(text, pos);
      runes.push_back(d.rune);
      offsets.push_back(pos);
      pos += d.size;
    }
    offsets.push_back(text.size());
  }
  std::size_t size() const { return runes.size(); }
};

}  // namespace

Result<ShellPattern> ShellPattern::compile(std::string_view pattern) {
  ShellPattern out;
  for (std::size_t pos = 0; pos < pattern.size();) {
    DecodedRune d = decode_utf8(pattern, pos);
    pos += d.size;
    if (d.rune == '*') {
      out.tokens_.push_back({Kind::kAnyRun});
    } else if (d.rune == '?') {
      out.tokens_.push_back({Kind::kAnyOne});
    } else if (d.rune == '\\') {
      if (pos >= pattern.size())
        return fail("invalid escape '\\' at the end of pattern {}", pattern);
      DecodedRune next = decode_utf8(pattern, pos);
      // Inside ${...} a `}` or `/` has to be escaped, but that backslash is not part of the
      // pattern.
      if (next.rune == '}' || next.rune == '/') continue;
      if (next.rune != '*' && next.rune != '?' && next.rune != '\\') {
        return fail("invalid escape '\\{}' in pattern {}", pattern.substr(pos, next.size), pattern);
      }
      pos += next.size;
      out.tokens_.push_back({Kind::kLiteral, next.rune});
    } else {
      out.tokens_.push_back({Kind::kLiteral, d.rune});
    }
  }
  return out;
}

namespace {

using Tokens = std::vector<std::pair<int, char32_t>>;  // (kind, rune)

// Where the match of tokens[ti..] starting at rune vi ends, as a backtracking regex engine picks
// it: every `*` tries its longest run first when greedy, its shortest otherwise. Memoized per
// (token, position) because the preferred result does not depend on how that state was reached.
class Matcher {
 public:
  Matcher(const Tokens& tokens, const Subject& subject, bool greedy)
      : tokens_(tokens),
        subject_(subject),
        greedy_(greedy),
        memo_((tokens.size() + 1) * (subject.size() + 1), kUnknown) {}

  std::optional<std::size_t> at(std::size_t ti, std::size_t vi) {
    int& slot = memo_[ti * (subject_.size() + 1) + vi];
    if (slot == kUnknown) slot = compute(ti, vi);
    if (slot == kNoMatch) return std::nullopt;
    return static_cast<std::size_t>(slot);
  }

 private:
  static constexpr int kUnknown = -2;
  static constexpr int kNoMatch = -1;

  int compute(std::size_t ti, std::size_t vi) {
    if (ti == tokens_.size()) return static_cast<int>(vi);
    const auto [kind, rune] = tokens_[ti];
    const std::size_t n = subject_.size();
    if (kind == 0) {  // literal
      if (vi < n && subject_.runes[vi] == rune) return to_int(at(ti + 1, vi + 1));
      return kNoMatch;
    }
    if (kind == 1) {  // any one
      if (vi < n && subject_.runes[vi] != '\n') return to_int(at(ti + 1, vi + 1));
      return kNoMatch;
    }
    std::size_t run = 0;
    while (vi + run < n && subject_.runes[vi + run] != '\n') ++run;
    for (std::size_t k = 0; k <= run; ++k) {
      std::size_t len = greedy_ ? run - k : k;
      if (auto end = at(ti + 1, vi + len)) return static_cast<int>(*end);
    }
    return kNoMatch;
  }

  static int to_int(std::optional<std::size_t> v) { return v ? static_cast<int>(*v) : kNoMatch; }

  const Tokens& tokens_;
  const Subject& subject_;
  bool greedy_;
  std::vector<int> memo_;
};

}  // namespace

static Tokens flatten(const auto& tokens, bool reversed) {
  Tokens out;
  for (const auto& t : tokens) out.emplace_back(static_cast<int>(t.kind), t.rune);
  if (reversed) std::reverse(out.begin(), out.end());
  return out;
}

std::string ShellPattern::trim_prefix(std::string_view value, bool greedy) const {
  Subject subject(value);
  Tokens tokens = flatten(tokens_, false);
  Matcher matcher(tokens, subject, greedy);
  auto end = matcher.at(0, 0);
  if (!end) return std::string(value);
  return std::string(value.substr(subject.offsets[*end]));
}

std::string ShellPattern::trim_suffix(std::string_view value, bool greedy) const {
  // A regex finds leftmost matches, so buildkit reverses both value and pattern; so do we.
  Subject subject(value);
  Subject reversed = subject;
  std::reverse(reversed.runes.begin(), reversed.runes.end());
  Tokens tokens = flatten(tokens_, true);
  Matcher matcher(tokens, reversed, greedy);
  auto end = matcher.at(0, 0);
  if (!end) return std::string(value);
  return std::string(value.substr(0, subject.offsets[subject.size() - *end]));
}

std::string ShellPattern::replace(std::string_view value, std::string_view replacement,
                                  bool all) const {
  Subject subject(value);
  Tokens tokens = flatten(tokens_, false);
  Matcher matcher(tokens, subject, true);
  const std::size_t n = subject.size();
  auto find_from = [&](std::size_t from) -> std::optional<std::pair<std::size_t, std::size_t>> {
    for (std::size_t start = from; start <= n; ++start) {
      if (auto end = matcher.at(0, start)) return std::pair{start, *end};
    }
    return std::nullopt;
  };
  std::string out;
  if (!all) {
    auto m = find_from(0);
    if (!m) return std::string(value);
    out.append(value.substr(0, subject.offsets[m->first]));
    out.append(replacement);
    out.append(value.substr(subject.offsets[m->second]));
    return out;
  }
  // Go's ReplaceAllString: no replacement for an empty match right after a previous match, and
  // the search always advances by at least one character.
  std::size_t last_end = 0;
  for (std::size_t search = 0; search <= n;) {
    auto m = find_from(search);
    if (!m) break;
    auto [start, end] = *m;
    out.append(value.substr(subject.offsets[last_end],
                            subject.offsets[start] - subject.offsets[last_end]));
    if (end > last_end || start == 0) out.append(replacement);
    last_end = end;
    search = std::max(search + 1, end);
  }
  out.append(value.substr(subject.offsets[last_end]));
  return out;
}

}  // namespace slipway::oci
