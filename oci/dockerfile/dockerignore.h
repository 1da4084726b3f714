// .dockerignore with Docker's pattern rules (moby/patternmatcher): `*` `?` `**` `[a-z]` `\x`,
// `!` exceptions (the last matching pattern wins), comments, leading `/` and `./` cleaned,
// patterns relative to the context root, and an excluded directory excludes what is below it
// unless a later exception re-includes some of it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

class Dockerignore {
 public:
  Dockerignore() = default;

  // One pattern a line; lines starting with '#' are comments; surrounding blanks are trimmed.
  // Errors read ".dockerignore:3: bad pattern "[a-": unterminated character class".
  static Result<Dockerignore> parse(std::string_view text,
                                    std::string_view source = ".dockerignore");
  // Patterns as given to moby's patternmatcher.New (no comment handling).
  static Result<Dockerignore> from_patterns(const std::vector<std::string>& patterns);

  // path is relative to the context root, '/'-separated; "./a", "/a" and "a" are the same.
  // The root itself is never excluded.
  bool excluded(std::string_view path) const;

  // False when no exception can re-include anything below the excluded directory `dir`, so a
  // walker may skip it; true when one might (patterns with ** or classes are assumed to).
  bool may_reinclude_below(std::string_view dir) const;

  bool empty() const { return patterns_.empty(); }
  bool has_exceptions() const { return exceptions_; }
  // The cleaned patterns, exceptions with their leading '!'.
  std::vector<std::string> patterns() const;

 private:
  struct Token {
    enum class Kind { kLiteral, kAnyOne, kAnyRun, kAnyDeep, kOptionalDirs, kClass };
    explicit Token(Kind k, char32_t r = 0) : kind(k), rune(r) {}
    Kind kind;
    char32_t rune = 0;                                  // kLiteral
    bool negated = false;                               // kClass
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kClass
  };
  // moby's four ways to match: the literal path, a literal prefix ("dir/**"), a literal suffix
  // ("**/name"), or the general wildcard match.
  enum class MatchType { kExact, kPrefix, kSuffix, kWildcard };
  struct Pattern {
    std::string text;  // cleaned, without the '!'
    bool exception = false;
    MatchType type = MatchType::kExact;
    std::vector<Token> tokens;
  };

  std::vector<Pattern> patterns_;
  bool exceptions_ = false;

  static Result<Pattern> compile(std::string_view cleaned, bool exception);
  static bool match(const Pattern& pattern, std::string_view path);
};

// The .dockerignore for a build: "<dockerfile>.dockerignore" next to the Dockerfile when it
// exists (as BuildKit does), else <context>/.dockerignore, else none.
Result<Dockerignore> load_dockerignore(const std::string& context_dir,
                                       const std::string& dockerfile_path = "");

struct ContextEntry {
  enum class Kind { kFile, kDirectory, kSymlink, kOther };
  std::string path;  // relative to the context root, '/'-separated
  Kind kind = Kind::kFile;
  mode_t mode = 0;  // st_mode from lstat
  off_t size = 0;
  struct stat st {};  // the whole lstat: device, inode and times say whether a file changed
};

// Every entry of the context that the build may see, sorted by path. Symlinks are listed, never
// followed. An excluded directory is left out with all it holds, except that a directory holding
// a re-included entry is listed (so that entry has a parent).
Result<std::vector<ContextEntry>> list_context(const std::string& context_dir,
                                               const Dockerignore& ignore);

// Go's filepath.Clean for '/'-separated paths: "a//b/./c/.." -> "a/b", "" -> ".".
std::string clean_path(std::string_view path);

}  // namespace slipway::oci
