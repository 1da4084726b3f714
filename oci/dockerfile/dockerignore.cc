#include "oci/dockerfile/dockerignore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <iterator>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

std::vector<char32_t> runes_of(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t pos = 0; pos < text.size();) {
    DecodedRune d = decode_utf8(text, pos);
    out.push_back(d.rune);
    pos += d.size;
  }
  return out;
}

// Checks the syntax Go's filepath.Match accepts, which moby uses to reject bad patterns:
// a '\' must escape something, and a class is '[' ['^'] range... ']' with at least one range,
// where a range is c or c-c and c may not be an unescaped '-' or ']'.
Status validate(const std::vector<char32_t>& p) {
  const std::size_t n = p.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == '\\') {
      if (++i >= n) return fail("trailing backslash");
      continue;
    }
    if (p[i] != '[') continue;
    ++i;
    if (i < n && p[i] == '^') ++i;
    std::size_t ranges = 0;
    auto char_at = [&](char32_t& out) -> Status {
      if (i >= n) return fail("unterminated character class");
      if (p[i] == '-' || p[i] == ']')
        return fail("'{}' needs a backslash here", p[i] == '-' ? '-' : ']');
      if (p[i] == '\\' && ++i >= n) return fail("unterminated character class");
      out = p[i++];
      return {};
    };
    for (;;) {
      if (i < n && p[i] == ']' && ranges > 0) break;
      char32_t lo = 0;
      char32_t hi = 0;
      SLW_TRY(char_at(lo));
      hi = lo;
      if (i < n && p[i] == '-') {
        ++i;
        SLW_TRY(char_at(hi));
      }
      if (hi < lo) return fail("character class range is backwards");
      ++ranges;
    }
  }
  return {};
}

}  // namespace

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

Result<Dockerignore::Pattern> Dockerignore::compile(std::string_view cleaned, bool exception) {
  Pattern pattern;
  pattern.text = std::string(cleaned);
  pattern.exception = exception;
  const std::vector<char32_t> p = runes_of(cleaned);
  SLW_TRY(validate(p));
  using Kind = Token::Kind;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool first = i == 0;
    const char32_t ch = p[i];
    if (ch == '*' && i + 1 < p.size() && p[i + 1] == '*') {
      ++i;
      if (i + 1 < p.size() && p[i + 1] == '/') ++i;  // "**/" is "**"
      if (i + 1 == p.size()) {
        // A trailing "**" after plain text only needs the text as a prefix.
        if (pattern.type == MatchType::kExact) {
          pattern.type = MatchType::kPrefix;
        } else {
          pattern.tokens.emplace_back(Kind::kAnyDeep);
          pattern.type = MatchType::kWildcard;
        }
      } else {
        pattern.tokens.emplace_back(Kind::kOptionalDirs);
        pattern.type = MatchType::kWildcard;
      }
      if (first) pattern.type = MatchType::kSuffix;
    } else if (ch == '*') {
      pattern.tokens.emplace_back(Kind::kAnyRun);
      pattern.type = MatchType::kWildcard;
    } else if (ch == '?') {
      pattern.tokens.emplace_back(Kind::kAnyOne);
      pattern.type = MatchType::kWildcard;
    } else if (ch == '\\') {
      pattern.tokens.emplace_back(Kind::kLiteral, p[++i]);
      pattern.type = MatchType::kWildcard;
    } else if (ch == '[') {
      Token token(Kind::kClass);
      ++i;
      if (p[i] == '^') token.negated = true, ++i;
      while (!(p[i] == ']' && !token.ranges.empty())) {
        char32_t lo = p[i] == '\\' ? p[++i] : p[i];
        char32_t hi = lo;
        ++i;
        if (p[i] == '-') {
          ++i;
          hi = p[i] == '\\' ? p[++i] : p[i];
          ++i;
        }
        token.ranges.emplace_back(lo, hi);
      }
      pattern.tokens.push_back(std::move(token));
      pattern.type = MatchType::kWildcard;
    } else {
      if (ch == ']') pattern.type = MatchType::kWildcard;
      pattern.tokens.emplace_back(Kind::kLiteral, ch);
    }
  }
  return pattern;
}

bool Dockerignore::match(const Pattern& pattern, std::string_view path) {
  switch (pattern.type) {
    case MatchType::kExact:
      return path == pattern.text;
    case MatchType::kPrefix:
      return path.starts_with(std::string_view(pattern.text).substr(0, pattern.text.size() - 2));
    case MatchType::kSuffix: {
      std::string_view suffix = std::string_view(pattern.text).substr(2);
      if (path.ends_with(suffix)) return true;
      return suffix.starts_with('/') && path == suffix.substr(1);  // "**/foo" matches "foo"
    }
    case MatchType::kWildcard:
      break;
  }
  const std::vector<char32_t> r = runes_of(path);
  const std::vector<Token>& t = pattern.tokens;
  const std::size_t n = r.size();
  std::vector<signed char> memo((t.size() + 1) * (n + 1), -1);
  using Kind = Token::Kind;
  // Full match of tokens[ti..] against r[vi..]; memoized, so stars cannot blow up.
  auto at = [&](auto&& self, std::size_t ti, std::size_t vi) -> bool {
    signed char& slot = memo[ti * (n + 1) + vi];
    if (slot >= 0) return slot;
    bool ok = false;
    if (ti == t.size()) {
      ok = vi == n;
    } else {
      const Token& tok = t[ti];
      switch (tok.kind) {
        case Kind::kLiteral:
          ok = vi < n && r[vi] == tok.rune && self(self, ti + 1, vi + 1);
          break;
        case Kind::kAnyOne:
          ok = vi < n && r[vi] != '/' && self(self, ti + 1, vi + 1);
          break;
        case Kind::kClass:
          if (vi < n) {
            bool in = std::any_of(tok.ranges.begin(), tok.ranges.end(), [&](const auto& range) {
              return r[vi] >= range.first && r[vi] <= range.second;
            });
            ok = in != tok.negated && self(self, ti + 1, vi + 1);
          }
          break;
        case Kind::kAnyRun:  // [^/]*
          for (std::size_t k = vi; !ok; ++k) {
            ok = self(self, ti + 1, k);
            if (k == n || r[k] == '/') break;
          }
          break;
        case Kind::kAnyDeep:  // .* (a regex dot stops at newlines)
          for (std::size_t k = vi; !ok; ++k) {
            ok = self(self, ti + 1, k);
            if (k == n || r[k] == '\n') break;
          }
          break;
        case Kind::kOptionalDirs:  // (.*/)?
          ok = self(self, ti + 1, vi);
          for (std::size_t k = vi; !ok && k < n && r[k] != '\n'; ++k) {
            if (r[k] == '/') ok = self(self, ti + 1, k + 1);
          }
          break;
      }
    }
    slot = ok ? 1 : 0;
    return ok;
  };
  return at(at, 0, 0);
}

Result<Dockerignore> Dockerignore::from_patterns(const std::vector<std::string>& patterns) {
  Dockerignore out;
  for (const std::string& raw : patterns) {
    std::string_view trimmed = trim_unicode_space(raw);
    if (trimmed.empty()) continue;
    std::string cleaned = clean_path(trimmed);
    const bool exception = cleaned[0] == '!';
    if (exception && cleaned.size() == 1) return fail("illegal exclusion pattern: \"!\"");
    std::string_view body = std::string_view(cleaned).substr(exception ? 1 : 0);
    auto pattern = compile(body, exception);
    if (!pattern) {
      return fail("bad pattern {}: {}", go_quote(raw), pattern.error().message());
    }
    out.exceptions_ = out.exceptions_ || exception;
    out.patterns_.push_back(std::move(*pattern));
  }
  return out;
}

Result<Dockerignore> Dockerignore::parse(std::string_view text, std::string_view source) {
  Dockerignore out;
  int number = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (number++ == 0 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
    if (line.starts_with('#')) continue;
    std::string_view trimmed = trim_unicode_space(line);
    if (trimmed.empty()) continue;
    const bool exception = trimmed[0] == '!';
    if (exception) trimmed = trim_unicode_space(trimmed.substr(1));
    if (exception && trimmed.empty()) {
      return fail("{}:{}: illegal exclusion pattern: \"!\"", source, number);
    }
    // Patterns are relative to the context root: "/a", "./a" and "a/" all mean "a".
    std::string cleaned = clean_path(trimmed);
    if (cleaned.size() > 1 && cleaned[0] == '/') cleaned.erase(0, 1);
    auto pattern = compile(cleaned, exception);
    if (!pattern) {
      return fail("{}:{}: bad pattern {}: {}", source, number, go_quote(trimmed),
                  pattern.error().message());
    }
    out.exceptions_ = out.exceptions_ || exception;
    out.patterns_.push_back(std::move(*pattern));
  }
  return out;
}

std::vector<std::string> Dockerignore::patterns() const {
  std::vector<std::string> out;
  for (const Pattern& p : patterns_) out.push_back((p.exception ? "!" : "") + p.text);
  return out;
}

bool Dockerignore::excluded(std::string_view path) const {
  if (patterns_.empty()) return false;
  std::string file = clean_path(path);
  while (file.starts_with('/')) file.erase(0, 1);
  if (file.empty() || file == ".") return false;
  // A pattern also matches a path when it matches one of the path's parent directories.
  std::vector<std::string_view> parents;
  for (std::size_t slash = file.find('/'); slash != std::string::npos;
       slash = file.find('/', slash + 1)) {
    parents.push_back(std::string_view(file).substr(0, slash));
  }
  bool matched = false;
  for (const Pattern& pattern : patterns_) {
    // Only an exception can undo a match, and only a plain pattern can make one.
    if (pattern.exception != matched) continue;
    bool hit = match(pattern, file);
    for (std::size_t i = 0; !hit && i < parents.size(); ++i) hit = match(pattern, parents[i]);
    if (hit) matched = !pattern.exception;
  }
  return matched;
}

static std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return out;
}

// Without "**" (and classes, which may match '/'), a pattern of n components only matches paths
// of n components, so a path below `dir` can match an exception only if that exception has more
// components than `dir` and its leading ones match dir's one by one. Every other pattern gives a
// path below `dir` the same answer as `dir` itself, or a more excluding one.
bool Dockerignore::may_reinclude_below(std::string_view dir) const {
  if (!exceptions_) return false;
  std::string cleaned = clean_path(dir);
  while (cleaned.starts_with('/')) cleaned.erase(0, 1);
  const std::vector<std::string_view> dir_parts = components(cleaned);
  for (const Pattern& pattern : patterns_) {
    if (!pattern.exception) continue;
    if (pattern.type == MatchType::kPrefix || pattern.type == MatchType::kSuffix ||
        pattern.text.find('\\') != std::string::npos) {
      return true;
    }
    for (const Token& token : pattern.tokens) {
      if (token.kind == Token::Kind::kOptionalDirs || token.kind == Token::Kind::kAnyDeep ||
          token.kind == Token::Kind::kClass) {
        return true;
      }
    }
    const std::vector<std::string_view> parts = components(pattern.text);
    if (parts.size() <= dir_parts.size()) continue;
    bool compatible = true;
    for (std::size_t i = 0; compatible && i < dir_parts.size(); ++i) {
      auto part = compile(parts[i], false);
      compatible = !part || match(*part, dir_parts[i]);
    }
    if (compatible) return true;
  }
  return false;
}

Result<Dockerignore> load_dockerignore(const std::string& context_dir,
                                       const std::string& dockerfile_path) {
  // Docker's rule: <Dockerfile>.dockerignore beside the Dockerfile wins over the context's. Both
  // are read without following a symlink out (the context's is resolved inside the context).
  if (!dockerfile_path.empty()) {
    std::filesystem::path beside(dockerfile_path + ".dockerignore");
    std::string dir = beside.has_parent_path() ? beside.parent_path().string() : ".";
    if (auto text = fs::read_file_in_root(dir, beside.filename().string()))
      return Dockerignore::parse(*text, beside.string());
  }
  if (!fs::exists(fs::join(context_dir, ".dockerignore"))) return Dockerignore();
  std::string text = SLW_TRY(fs::read_file_in_root(context_dir, ".dockerignore"));
  return Dockerignore::parse(text, fs::join(context_dir, ".dockerignore"));
}

namespace {

using Kind = ContextEntry::Kind;

Kind kind_of(mode_t mode) {
  if (S_ISREG(mode)) return Kind::kFile;
  if (S_ISDIR(mode)) return Kind::kDirectory;
  if (S_ISLNK(mode)) return Kind::kSymlink;
  return Kind::kOther;
}

// Walks dir_fd (which is `shown` in messages and `rel` inside the context) and appends what the
// build may see. Directories are opened relative to their parent with O_NOFOLLOW, so a symlink
// swapped in during the walk is never followed out of the context.
Status walk(int dir_fd, const std::string& shown, const std::string& rel,
            const Dockerignore& ignore, std::vector<ContextEntry>& out) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return fail_errno(fmt::format("duplicate descriptor of {}", shown));
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    int e = errno;
    ::close(dup_fd);
    return fail_errno(fmt::format("read directory {}", shown), e);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) return fail_errno(fmt::format("read directory {}", shown), read_errno);
  std::sort(names.begin(), names.end());

  for (const std::string& name : names) {
    const std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      return fail_errno(fmt::format("stat {}/{}", shown, name));
    }
    const bool excluded = ignore.excluded(path);
    ContextEntry entry{path, kind_of(st.st_mode), st.st_mode, st.st_size, st};
    if (entry.kind != Kind::kDirectory) {
      if (!excluded) out.push_back(std::move(entry));
      continue;
    }
    if (excluded && !ignore.may_reinclude_below(path)) continue;
    int child = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) return fail_errno(fmt::format("open directory {}/{}", shown, name));
    UniqueFd child_fd(child);
    std::vector<ContextEntry> below;
    SLW_TRY(walk(child_fd.get(), shown + "/" + name, path, ignore, below));
    if (excluded && below.empty()) continue;
    out.push_back(std::move(entry));
    std::move(below.begin(), below.end(), std::back_inserter(out));
  }
  return {};
}

}  // namespace

Result<std::vector<ContextEntry>> list_context(const std::string& context_dir,
                                               const Dockerignore& ignore) {
  UniqueFd root = SLW_TRY(fs::open_file(context_dir, O_RDONLY | O_DIRECTORY));
  std::vector<ContextEntry> entries;
  SLW_TRY(walk(root.get(), context_dir, "", ignore, entries));
  std::sort(entries.begin(), entries.end(),
            [](const ContextEntry& a, const ContextEntry& b) { return a.path < b.path; });
  return entries;
}

}  // namespace slipway::oci
