#include "oci/dockerfile/substitution.h"

#include <optional>

#include "oci/dockerfile/shell_pattern.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

constexpr std::int32_t kEof = -1;

// One code point as read, with its original bytes so that output keeps even invalid UTF-8.
struct Ch {
  std::int32_t rune = kEof;
  std::string_view bytes;
};

bool is_space(std::int32_t rune) {
  return rune >= 0 && is_unicode_space(static_cast<char32_t>(rune));
}

// Collects shell words: unquoted spaces (also those produced by a substitution) end a word,
// quoted text never does.
class Words {
 public:
  void add_char(const Ch& ch) {
    if (is_space(ch.rune)) {
      if (in_word_ && !word_.empty()) {
        words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
      }
    } else {
      add_raw(ch.bytes);
    }
  }
  void add_raw(std::string_view text) {
    word_ += text;
    in_word_ = true;
  }
  void add_string(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
      DecodedRune d = decode_utf8(text, pos);
      add_char({d.valid ? static_cast<std::int32_t>(d.rune) : 0xFFFD, text.substr(pos, d.size)});
      pos += d.size;
    }
  }
  std::vector<std::string> take() {
    if (!word_.empty()) words_.push_back(std::move(word_));
    word_.clear();
    in_word_ = false;
    return std::move(words_);
  }

 private:
  std::string word_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

struct Processed {
  std::string word;
  std::vector<std::string> words;
};

class Lexer {
 public:
  Lexer(std::string_view text, const VarMap& vars, const ShellLexOptions& options)
      : text_(text), vars_(vars), options_(options), raw_escapes_(options.raw_escapes) {}

  Result<Substitution> run() {
    auto processed = process_until(kEof, options_.raw_escapes);
    if (!processed) return std::unexpected(std::move(processed.error()));
    return Substitution{std::move(processed->word), std::move(processed->words), std::move(used_),
                        std::move(unset_)};
  }

 private:
  std::int32_t peek() const {
    if (pos_ >= text_.size()) return kEof;
    DecodedRune d = decode_utf8(text_, pos_);
    return d.valid ? static_cast<std::int32_t>(d.rune) : 0xFFFD;
  }

  Ch next() {
    if (pos_ >= text_.size()) return {};
    DecodedRune d = decode_utf8(text_, pos_);
    Ch ch{d.valid ? static_cast<std::int32_t>(d.rune) : 0xFFFD, text_.substr(pos_, d.size)};
    pos_ += d.size;
    return ch;
  }

  std::int32_t escape() const { return static_cast<unsigned char>(options_.escape); }

  // Reads up to `stop` (consumed) or the end; inside ${...} escapes are kept raw only for the
  // pattern operators, whatever the caller asked for, as buildkit does.
  Result<Processed> process_until(std::int32_t stop, bool raw_escapes) {
    const bool saved = raw_escapes_;
    raw_escapes_ = raw_escapes;
    auto result = process_until_inner(stop);
    raw_escapes_ = saved;
    return result;
  }

  Result<Processed> process_until_inner(std::int32_t stop) {
    std::string result;
    Words words;
    while (peek() != kEof) {
      const std::int32_t ch = peek();
      if (stop != kEof && ch == stop) {
        next();
        return Processed{std::move(result), words.take()};
      }
      if (ch == '$') {
        std::string value = SLW_TRY(dollar());
        result += value;
        words.add_string(value);
      } else if (!options_.skip_quotes && (ch == '\'' || ch == '"')) {
        std::string value = SLW_TRY(ch == '\'' ? single_quote() : double_quote());
        result += value;
        words.add_raw(value);
      } else if (options_.heredoc_words && ch == '<') {
        std::string value = possible_heredoc();
        result += value;
        words.add_raw(value);
      } else {
        Ch c = next();
        if (c.rune == escape()) {
          if (raw_escapes_) {
            words.add_raw(c.bytes);
            result += c.bytes;
          }
          c = next();
          if (c.rune == kEof) break;  // an escape at the very end is dropped
          words.add_raw(c.bytes);
        } else {
          words.add_char(c);
        }
        result += c.bytes;
      }
    }
    if (stop != kEof) {
      std::string wanted;
      append_utf8(wanted, static_cast<char32_t>(stop));
      return fail("unexpected end of statement while looking for matching {}", wanted);
    }
    return Processed{std::move(result), words.take()};
  }

  // Everything up to the next ' is literal; a single quote cannot be escaped inside.
  Result<std::string> single_quote() {
    std::string result;
    Ch quote = next();
    if (options_.raw_quotes) result += quote.bytes;
    for (;;) {
      Ch c = next();
      if (c.rune == kEof) {
        return fail("unexpected end of statement while looking for matching single-quote");
      }
      if (c.rune == '\'') {
        if (options_.raw_quotes) result += c.bytes;
        return result;
      }
      result += c.bytes;
    }
  }

  // Like sh: $ is expanded, and the escape character escapes only " $ and itself.
  Result<std::string> double_quote() {
    std::string result;
    Ch quote = next();
    if (options_.raw_quotes) result += quote.bytes;
    for (;;) {
      const std::int32_t ch = peek();
      if (ch == kEof) {
        return fail("unexpected end of statement while looking for matching double-quote");
      }
      if (ch == '"') {
        Ch c = next();
        if (options_.raw_quotes) result += c.bytes;
        return result;
      }
      if (ch == '$') {
        result += SLW_TRY(dollar());
        continue;
      }
      Ch c = next();
      if (c.rune == escape()) {
        if (raw_escapes_) result += c.bytes;
        const std::int32_t following = peek();
        if (following == kEof) continue;
        if (following == '"' || following == '$' || following == escape()) c = next();
      }
      result += c.bytes;
    }
  }

  // "<<" and the blanks after it stay in one word so that "<<  EOF" is found as a heredoc.
  std::string possible_heredoc() {
    std::string result(next().bytes);
    if (peek() != '<') return result;
    result += next().bytes;
    while (peek() == ' ' || peek() == '\t') result += next().bytes;
    return result;
  }

  std::optional<std::string> lookup(const std::string& name) {
    auto it = vars_.find(name);
    if (it == vars_.end()) {
      unset_.insert(name);
      return std::nullopt;
    }
    used_.insert(name);
    return it->second;
  }

  // A name is letters, digits and '_'; a leading digit takes only digits ($1) and a special
  // parameter ($@, $*, $#, $?, $-, $$, $!) is one character.
  std::string name() {
    std::string result;
    while (peek() != kEof) {
      const std::int32_t ch = peek();
      const bool digit = ch >= '0' && ch <= '9';
      if (result.empty() && digit) {
        while (peek() >= '0' && peek() <= '9') result += next().bytes;
        return result;
      }
      if (result.empty() && (ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' ||
                             ch == '$' || ch == '!')) {
        return std::string(next().bytes);
      }
      const bool letter = ch >= 0 && is_unicode_letter(static_cast<char32_t>(ch));
      if (!letter && !digit && ch != '_') break;
      result += next().bytes;
    }
    return result;
  }

  Result<std::string> dollar() {
    next();  // '$'
    if (peek() != '{') {
      std::string var = name();
      if (var.empty()) return std::string("$");
      auto value = lookup(var);
      if (!value && options_.skip_unset) return "$" + var;
      return value.value_or("");
    }
    next();  // '{'
    const std::int32_t first = peek();
    if (first == kEof) return fail("syntax error: missing '}'");
    if (first == '{' || first == '}' || first == ':') return fail("syntax error: bad substitution");
    std::string var = name();
    Ch op = next();
    if (op.rune == kEof) return fail("syntax error: missing '}'");
    std::string ops(op.bytes);
    if (op.rune == '}') {
      auto value = lookup(var);
      if (!value && options_.skip_unset) return "${" + var + "}";
      return value.value_or("");
    }
    if (op.rune == '/') return replacement(var);
    bool null_is_unset = false;
    if (op.rune == ':') {
      null_is_unset = true;
      op = next();
      ops += op.bytes;
    }
    const std::int32_t kind = op.rune;
    if (!null_is_unset && kind != '+' && kind != '-' && kind != '?' && kind != '#' && kind != '%') {
      return fail("unsupported modifier ({}) in substitution", ops);
    }
    auto word = process_until('}', kind == '#' || kind == '%');
    if (!word) {
      if (peek() == kEof) return fail("syntax error: missing '}'");
      return std::unexpected(std::move(word.error()));
    }
    std::string& text = word->word;
    auto value = lookup(var);
    if (!value && options_.skip_unset) return "${" + var + ops + text + "}";
    const bool empty = !value || (null_is_unset && value->empty());
    switch (kind) {
      case '-':
        return empty ? text : *value;
      case '+':
        return empty ? std::string() : text;
      case '?':
        if (!value) return fail("{}: {}", var, text.empty() ? "is not allowed to be unset" : text);
        if (null_is_unset && value->empty()) {
          return fail("{}: {}", var, text.empty() ? "is not allowed to be empty" : text);
        }
        return *value;
      case '#':
      case '%': {
        const bool greedy = !text.empty() && text[0] == static_cast<char>(kind);
        std::string_view pattern = greedy ? std::string_view(text).substr(1) : text;
        auto compiled = ShellPattern::compile(pattern);
        if (!compiled) {
          return fail("invalid pattern ({}) in substitution: {}", pattern,
                      compiled.error().message());
        }
        return kind == '#' ? compiled->trim_prefix(value.value_or(""), greedy)
                           : compiled->trim_suffix(value.value_or(""), greedy);
      }
      default:
        return fail("unsupported modifier ({}) in substitution", ops);
    }
  }

  // ${V/pattern/replacement} and ${V//pattern/replacement}.
  Result<std::string> replacement(const std::string& var) {
    const bool all = peek() == '/';
    if (all) next();
    auto pattern = process_until('/', true);
    if (!pattern) {
      if (peek() == kEof) return fail("syntax error: missing '/' in ${{}}");
      return std::unexpected(std::move(pattern.error()));
    }
    auto with = process_until('}', true);
    if (!with) {
      if (peek() == kEof) return fail("syntax error: missing '}'");
      return std::unexpected(std::move(with.error()));
    }
    auto value = lookup(var);
    if (!value && options_.skip_unset) {
      return "${" + var + "/" + pattern->word + "/" + with->word + "}";
    }
    auto compiled = ShellPattern::compile(pattern->word);
    if (!compiled) {
      return fail("invalid pattern ({}) in substitution: {}", pattern->word,
                  compiled.error().message());
    }
    return compiled->replace(value.value_or(""), with->word, all);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  const VarMap& vars_;
  const ShellLexOptions& options_;
  bool raw_escapes_;
  std::set<std::string> used_;
  std::set<std::string> unset_;
};

}  // namespace

Result<Substitution> substitute(std::string_view text, const VarMap& vars,
                                const ShellLexOptions& options) {
  Lexer lexer(text, vars, options);
  auto result = lexer.run();
  if (!result) {
    return std::unexpected(
        std::move(result.error()).context("failed to process " + go_quote(text)));
  }
  return result;
}

Result<std::string> substitute_word(std::string_view text, const VarMap& vars, char escape) {
  ShellLexOptions options;
  options.escape = escape;
  Substitution s = SLW_TRY(substitute(text, vars, options));
  return std::move(s.word);
}

Result<std::vector<std::string>> substitute_words(std::string_view text, const VarMap& vars,
                                                  char escape) {
  ShellLexOptions options;
  options.escape = escape;
  Substitution s = SLW_TRY(substitute(text, vars, options));
  return std::move(s.words);
}

}  // namespace slipway::oci
