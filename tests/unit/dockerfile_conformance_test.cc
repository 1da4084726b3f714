// buildkit's parser conformance cases from ../shared/conformance/dockerfile-parser: every positive
// case must dump to its `result` exactly, every negative case must be rejected, and the line-number
// file must give buildkit's start and end lines.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "base/fs.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/parser.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

namespace stdfs = std::filesystem;

std::string conformance_dir() {
  std::string shared = testing::shared_dir();
  if (shared.empty()) return "";
  std::string dir = shared + "/conformance/dockerfile-parser";
  return stdfs::is_directory(dir) ? dir : "";
}

std::vector<std::string> case_names(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : stdfs::directory_iterator(dir)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

#define SKIP_WITHOUT_CONFORMANCE(dir)                                                             \
  const std::string dir = conformance_dir();                                                      \
  if (dir.empty()) {                                                                              \
    GTEST_SKIP() << "../shared/conformance/dockerfile-parser is absent (set SLIPWAY_SHARED_DIR)"; \
  }

TEST(DockerfileConformance, EveryPositiveCaseDumpsToItsResult) {
  SKIP_WITHOUT_CONFORMANCE(dir);
  std::vector<std::string> names = case_names(dir + "/testfiles");
  ASSERT_GE(names.size(), 30u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string base = dir + "/testfiles/" + name;
    auto text = fs::read_file(base + "/Dockerfile");
    auto expected = fs::read_file(base + "/result");
    ASSERT_TRUE(text && expected);
    auto ast = parse_dockerfile_ast(*text, name + "/Dockerfile");
    ASSERT_TRUE(ast) << ast.error().message();
    EXPECT_EQ(dump_ast(*ast), *expected);
  }
}

TEST(DockerfileConformance, EveryNegativeCaseIsRejectedWithALocation) {
  SKIP_WITHOUT_CONFORMANCE(dir);
  std::vector<std::string> names = case_names(dir + "/testfiles-negative");
  ASSERT_GE(names.size(), 4u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto text = fs::read_file(dir + "/testfiles-negative/" + name + "/Dockerfile");
    ASSERT_TRUE(text);
    auto ast = parse_dockerfile_ast(*text, name + "/Dockerfile");
    ASSERT_FALSE(ast) << dump_ast(*ast);
    EXPECT_TRUE(ast.error().message().starts_with(name + "/Dockerfile:")) << ast.error().message();
  }
}

TEST(DockerfileConformance, NegativeCasesFailForTheRightReason) {
  SKIP_WITHOUT_CONFORMANCE(dir);
  struct Case {
    const char* name;
    const char* message;
  } cases[] = {
      {"empty_dockerfile", "Dockerfile: file with no instructions"},
      {"only_comments", "Dockerfile: file with no instructions"},
      {"env_no_value", "Dockerfile:3: ENV must have two arguments"},
      {"shykes-nested-json",
       "Dockerfile:1: when using JSON array syntax, arrays must be comprised of strings only"},
  };
  for (const Case& c : cases) {
    auto text = fs::read_file(dir + "/testfiles-negative/" + c.name + "/Dockerfile");
    ASSERT_TRUE(text) << c.name;
    auto ast = parse_dockerfile_ast(*text);
    ASSERT_FALSE(ast) << c.name;
    EXPECT_EQ(ast.error().message(), c.message) << c.name;
  }
}

// buildkit's TestParseIncludesLineNumbers: the file spans lines 5..31 in three instructions.
TEST(DockerfileConformance, LineNumbersMatchBuildkit) {
  SKIP_WITHOUT_CONFORMANCE(dir);
  auto text = fs::read_file(dir + "/testfile-line/Dockerfile");
  ASSERT_TRUE(text);
  auto ast = parse_dockerfile_ast(*text);
  ASSERT_TRUE(ast) << ast.error().message();
  EXPECT_EQ(ast->start_line, 5);
  EXPECT_EQ(ast->end_line, 31);
  ASSERT_EQ(ast->nodes.size(), 3u);
  const int expected[3][2] = {{5, 5}, {11, 12}, {17, 31}};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ast->nodes[i].start_line, expected[i][0]) << "instruction " << i;
    EXPECT_EQ(ast->nodes[i].end_line, expected[i][1]) << "instruction " << i;
  }
  EXPECT_EQ(ast->escape, '\\');  // "# ESCAPE=\" is a directive too: names are case-insensitive
}

// Our own cases in the same format (tests/data/dockerfile); they must also type-check.
TEST(DockerfileConformance, OwnCasesDumpToTheirResult) {
  const std::string dir = testing::source_dir() + "/tests/data/dockerfile";
  std::vector<std::string> names = case_names(dir);
  ASSERT_GE(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto text = fs::read_file(dir + "/" + name + "/Dockerfile");
    auto expected = fs::read_file(dir + "/" + name + "/result");
    ASSERT_TRUE(text && expected);
    auto df = parse_dockerfile(*text, name + "/Dockerfile");
    ASSERT_TRUE(df) << df.error().message();
    EXPECT_EQ(dump_ast(df->ast), *expected);
  }
}

}  // namespace
}  // namespace slipway::oci
