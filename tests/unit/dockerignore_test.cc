// .dockerignore: Docker's documented examples, moby/patternmatcher's match cases, parsing rules
// and the context walker.
#include "oci/dockerfile/dockerignore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

Dockerignore parse_ok(std::string_view text) {
  auto d = Dockerignore::parse(text);
  EXPECT_TRUE(d) << d.error().message();
  return d ? std::move(*d) : Dockerignore{};
}

// The example of Docker's documentation, with its explanations as assertions.
TEST(Dockerignore, DocumentedExample) {
  Dockerignore d = parse_ok("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
  EXPECT_EQ(d.patterns(), (std::vector<std::string>{"*/temp*", "*/*/temp*", "temp?"}));
  // */temp*: names starting with temp in any immediate subdirectory of the root.
  EXPECT_TRUE(d.excluded("somedir/temporary.txt"));
  EXPECT_TRUE(d.excluded("somedir/temp"));
  EXPECT_TRUE(d.excluded("somedir/temp/inside.txt"));
  // */*/temp*: the same two levels below the root.
  EXPECT_TRUE(d.excluded("somedir/subdir/temporary.txt"));
  // temp?: a one-character extension of temp in the root.
  EXPECT_TRUE(d.excluded("tempa"));
  EXPECT_TRUE(d.excluded("tempb"));
  EXPECT_FALSE(d.excluded("temp"));
  EXPECT_FALSE(d.excluded("tempab"));
  EXPECT_FALSE(d.excluded("temporary.txt"));
  EXPECT_FALSE(d.excluded("a/b/c/temp.txt"));
  EXPECT_FALSE(d.excluded("comment"));
}

TEST(Dockerignore, DocumentedDoubleStarAndExceptions) {
  Dockerignore go = parse_ok("**/*.go\n");
  EXPECT_TRUE(go.excluded("main.go"));
  EXPECT_TRUE(go.excluded("cmd/tool/main.go"));
  EXPECT_FALSE(go.excluded("main.gox"));

  Dockerignore readme = parse_ok("*.md\n!README.md\n");
  EXPECT_TRUE(readme.excluded("CHANGES.md"));
  EXPECT_FALSE(readme.excluded("README.md"));
  EXPECT_FALSE(readme.excluded("docs/guide.md"));  // *.md is for the root only

  Dockerignore secret = parse_ok("*.md\n!README*.md\nREADME-secret.md\n");
  EXPECT_TRUE(secret.excluded("CHANGES.md"));
  EXPECT_FALSE(secret.excluded("README-dev.md"));
  EXPECT_TRUE(secret.excluded("README-secret.md"));

  // The last matching line wins: here the exception comes last.
  Dockerignore last = parse_ok("*.md\nREADME-secret.md\n!README*.md\n");
  EXPECT_FALSE(last.excluded("README-secret.md"));
  EXPECT_TRUE(last.excluded("CHANGES.md"));
}

TEST(Dockerignore, DirectoryExcludesItsContentUnlessReincluded) {
  Dockerignore d = parse_ok("docs\n!docs/README.md\nbuild/\n");
  EXPECT_TRUE(d.excluded("docs"));
  EXPECT_TRUE(d.excluded("docs/other.md"));
  EXPECT_TRUE(d.excluded("docs/deep/er.md"));
  EXPECT_FALSE(d.excluded("docs/README.md"));
  EXPECT_TRUE(d.excluded("build/out/a.o"));
  EXPECT_FALSE(d.excluded("builder"));
  EXPECT_FALSE(d.excluded("."));
  EXPECT_FALSE(d.excluded(""));
}

TEST(Dockerignore, PathsAndPatternsAreCleaned) {
  Dockerignore d = parse_ok("/abs\n./dot/\n  spaced  \n!  /kept/file \na//b/../c\n");
  EXPECT_EQ(d.patterns(), (std::vector<std::string>{"abs", "dot", "spaced", "!kept/file", "a/c"}));
  EXPECT_TRUE(d.excluded("abs"));
  EXPECT_TRUE(d.excluded("./abs/x"));
  EXPECT_TRUE(d.excluded("/dot/y"));
  EXPECT_TRUE(d.excluded("spaced"));
  EXPECT_TRUE(d.excluded("a/c/d"));
  // '#' starts a comment only at the very start of a line.
  Dockerignore hash = parse_ok(" #notacomment\n\xEF\xBB\xBF");
  EXPECT_TRUE(hash.excluded("#notacomment"));
  EXPECT_TRUE(parse_ok("\xEF\xBB\xBF"
                       "first\r\n")
                  .excluded("first"));
}

struct MatchCase {
  const char* pattern;
  const char* path;
  bool excluded;
};

// moby/patternmatcher's table (cases about the root "/" left out: the root is never excluded).
TEST(Dockerignore, PatternMatcherCases) {
  const MatchCase cases[] = {
      {"**", "file", true},
      {"**/", "file/", true},
      {"**", "dir/file", true},
      {"**/", "dir/file/", true},
      {"**/**", "dir/file", true},
      {"dir/**", "dir/file", true},
      {"dir/**", "dir/dir2/file/", true},
      {"**/dir", "dir", true},
      {"**/dir", "dir/file", true},
      {"**/dir2/*", "dir/dir2/file", true},
      {"**/dir2/**", "dir/dir2/dir3/file", true},
      {"**file", "file", true},
      {"**file", "dir/file", true},
      {"**/file", "dir/file", true},
      {"**file", "dir/dir/file", true},
      {"**/file", "dir/dir/file", true},
      {"**/file*", "dir/dir/file", true},
      {"**/file*", "dir/dir/file.txt", true},
      {"**/file*txt", "dir/dir/file.txt", true},
      {"**/file*.txt", "dir/dir/file.txt", true},
      {"**/file*.txt*", "dir/dir/file.txt", true},
      {"**/**/*.txt", "dir/dir/file.txt", true},
      {"**/**/*.txt2", "dir/dir/file.txt", false},
      {"**/*.txt", "file.txt", true},
      {"**/**/*.txt", "file.txt", true},
      {"a**/*.txt", "a/file.txt", true},
      {"a**/*.txt", "a/dir/file.txt", true},
      {"a**/*.txt", "a/dir/dir/file.txt", true},
      {"a/*.txt", "a/dir/file.txt", false},
      {"a/*.txt", "a/file.txt", true},
      {"a/*.txt**", "a/file.txt", true},
      {"a[b-d]e", "ae", false},
      {"a[b-d]e", "ace", true},
      {"a[b-d]e", "aae", false},
      {"a[^b-d]e", "aze", true},
      {".*", ".foo", true},
      {".*", "foo", false},
      {"abc.def", "abcdef", false},
      {"abc.def", "abc.def", true},
      {"abc.def", "abcZdef", false},
      {"abc?def", "abcZdef", true},
      {"abc?def", "abcdef", false},
      {"a\\\\", "a\\", true},
      {"**/foo/bar", "foo/bar", true},
      {"**/foo/bar", "dir/foo/bar", true},
      {"**/foo/bar", "dir/dir2/foo/bar", true},
      {"abc/**", "abc", false},
      {"abc/**", "abc/def", true},
      {"abc/**", "abc/def/ghi", true},
      {"**/.foo", ".foo", true},
      {"**/.foo", "bar.foo", false},
      {"a(b)c/def", "a(b)c/def", true},
      {"a(b)c/def", "a(b)c/xyz", false},
      {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
      {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
      {"a?c", "a/c", false},
      {"a\\*c", "a*c", true},
      {"a\\*c", "abc", false},
      {"\xC3\xA4?", "\xC3\xA4\xC3\xB6", true},  // ? is one character, not one byte
  };
  for (const MatchCase& c : cases) {
    auto d = Dockerignore::from_patterns({c.pattern});
    ASSERT_TRUE(d) << c.pattern << ": " << d.error().message();
    EXPECT_EQ(d->excluded(c.path), c.excluded) << c.pattern << " vs " << c.path;
  }
}

TEST(Dockerignore, BadPatternsAreErrorsWithTheirLine) {
  auto d = Dockerignore::parse("ok\n\n[a-\n");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(),
            ".dockerignore:3: bad pattern \"[a-\": unterminated character class");
  d = Dockerignore::parse("a\n!\n", "ctx/.dockerignore");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(), "ctx/.dockerignore:2: illegal exclusion pattern: \"!\"");
  for (const char* bad : {"[", "[]", "a\\", "[^]", "[z-a]", "x[a-]"}) {
    EXPECT_FALSE(Dockerignore::from_patterns({bad})) << bad;
  }
  EXPECT_FALSE(Dockerignore::from_patterns({"!"}));
}

TEST(Dockerignore, CleanPathIsGoFilepathClean) {
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("a//b/./c/.."), "a/b");
  EXPECT_EQ(clean_path("/../a"), "/a");
  EXPECT_EQ(clean_path("../../a/"), "../../a");
  EXPECT_EQ(clean_path("a/.."), ".");
  EXPECT_EQ(clean_path("///"), "/");
}

void make(const std::string& root, const std::string& rel, bool dir = false) {
  std::string path = root + "/" + rel;
  if (dir) {
    ASSERT_TRUE(fs::make_dirs(path));
  } else {
    ASSERT_TRUE(fs::make_dirs(path.substr(0, path.rfind('/'))));
    ASSERT_TRUE(fs::write_file(path, rel));
  }
}

std::vector<std::string> listed(const std::string& root, const Dockerignore& d) {
  auto entries = list_context(root, d);
  EXPECT_TRUE(entries) << entries.error().message();
  std::vector<std::string> out;
  if (!entries) return out;
  for (const auto& e : *entries) {
    out.push_back(e.path + (e.kind == ContextEntry::Kind::kDirectory ? "/"
                            : e.kind == ContextEntry::Kind::kSymlink ? "@"
                                                                     : ""));
  }
  return out;
}

TEST(Dockerignore, WalkerListsIncludedEntriesSorted) {
  testing::TempDir tmp("slipway-dockerignore");
  const std::string& root = tmp.path();
  for (const char* f : {"Dockerfile", ".dockerignore", "main.go", "README.md", "CHANGES.md",
                        "docs/README.md", "docs/guide.md", "docs/img/logo.png",
                        "node_modules/x/index.js", ".git/HEAD", "src/a.go", "src/a_test.go"}) {
    make(root, f);
  }
  make(root, "empty", true);
  ASSERT_EQ(::symlink("/etc/passwd", (root + "/link").c_str()), 0);

  EXPECT_EQ(listed(root, Dockerignore()), (std::vector<std::string>{".dockerignore",
                                                                    ".git/",
                                                                    ".git/HEAD",
                                                                    "CHANGES.md",
                                                                    "Dockerfile",
                                                                    "README.md",
                                                                    "docs/",
                                                                    "docs/README.md",
                                                                    "docs/guide.md",
                                                                    "docs/img/",
                                                                    "docs/img/logo.png",
                                                                    "empty/",
                                                                    "link@",
                                                                    "main.go",
                                                                    "node_modules/",
                                                                    "node_modules/x/",
                                                                    "node_modules/x/index.js",
                                                                    "src/",
                                                                    "src/a.go",
                                                                    "src/a_test.go"}));

  Dockerignore d =
      parse_ok(".git\nnode_modules\n*.md\ndocs\n!docs/README.md\n**/*_test.go\nempty\n");
  EXPECT_EQ(listed(root, d),
            (std::vector<std::string>{".dockerignore", "Dockerfile", "docs/", "docs/README.md",
                                      "link@", "main.go", "src/", "src/a.go"}));
}

TEST(Dockerignore, PrunesExcludedDirectoriesNoExceptionCanReach) {
  Dockerignore plain = parse_ok("node_modules\n");
  EXPECT_FALSE(plain.may_reinclude_below("node_modules"));
  Dockerignore d = parse_ok("*\n!a/b/c\n!*/keep\n");
  EXPECT_TRUE(d.may_reinclude_below("a"));
  EXPECT_TRUE(d.may_reinclude_below("a/b"));
  EXPECT_FALSE(d.may_reinclude_below("a/b/c"));  // a/b/c itself is what the exception matches
  EXPECT_TRUE(d.may_reinclude_below("x"));       // */keep
  EXPECT_FALSE(d.may_reinclude_below("x/y"));
  // Patterns whose reach cannot be bounded by counting components keep the walker going.
  EXPECT_TRUE(parse_ok("*\n!**/keep\n").may_reinclude_below("x/y/z"));
  EXPECT_TRUE(parse_ok("*\n![ab]/keep\n").may_reinclude_below("x"));
  EXPECT_TRUE(parse_ok("*\n!x/k**\n").may_reinclude_below("x"));

  testing::TempDir tmp("slipway-dockerignore");
  for (const char* f : {"a/b/c/in.txt", "a/b/out.txt", "x/keep", "x/y/keep", "z/other"}) {
    make(tmp.path(), f);
  }
  EXPECT_EQ(listed(tmp.path(), d),
            (std::vector<std::string>{"a/", "a/b/", "a/b/c/", "a/b/c/in.txt", "x/", "x/keep"}));
}

TEST(Dockerignore, LoadPrefersTheDockerfilesOwnIgnoreFile) {
  testing::TempDir tmp("slipway-dockerignore");
  const std::string& root = tmp.path();
  auto none = load_dockerignore(root, root + "/Dockerfile");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(fs::write_file(root + "/.dockerignore", "*.log\n"));
  auto plain = load_dockerignore(root, root + "/Dockerfile");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->excluded("x.log"));
  ASSERT_TRUE(fs::write_file(root + "/Dockerfile.dockerignore", "*.tmp\n"));
  auto own = load_dockerignore(root, root + "/Dockerfile");
  ASSERT_TRUE(own);
  EXPECT_FALSE(own->excluded("x.log"));
  EXPECT_TRUE(own->excluded("x.tmp"));
  ASSERT_TRUE(fs::write_file(root + "/.dockerignore", "ok\n[bad\n"));
  auto bad = load_dockerignore(root);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            root + "/.dockerignore:2: bad pattern \"[bad\": unterminated character class");
}

TEST(Dockerignore, WalkerReportsMissingContext) {
  auto entries = list_context("/nonexistent/slipway-context", Dockerignore());
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().message(),
            "open /nonexistent/slipway-context: No such file or directory");
}

}  // namespace
}  // namespace slipway::oci
