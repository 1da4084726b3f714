// The second example, examples/py-lib, run as a user would: its own .slipway.yml on a git copy,
// in staging with a release key in the root's secrets file. Lint, tests and docs side by side, a
// JUnit report merged into a junit.xml that the JUnit schema accepts, artifacts, a signed package,
// a secret found in no file; in testing the sign step is skipped; a failing test shows up by name.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/support/pipeline_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr const char* kReleaseKey = "release-key-e2e-5f1c9a77";

class PipelinePyLibTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(fs::exists(python_layout() + "/index.json"))
        << "no python test image at " << python_layout() << " (the make_python_image ctest fixture makes it)";
    auto loaded = slipway({"image", "load", python_layout()});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
    repo_ = std::make_unique<TempDir>("slipway-py-lib");
    stdfs::copy(source_dir() + "/examples/py-lib", repo_->path() + "/py-lib", stdfs::copy_options::recursive);
    git({"init", "-q", "-b", "main"});
    commit("py-lib 1.0");
    ASSERT_TRUE(fs::make_dirs(root() + "/secrets", 0700));
    std::string secrets = root() + "/secrets/py-lib.env";
    std::ofstream(secrets) << "RELEASE_KEY=" << kReleaseKey << "\n";
    ::chmod(secrets.c_str(), 0600);
  }

  std::string repo() const { return repo_->path() + "/py-lib"; }

  CommandResult git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", repo(), "-c", "user.name=ci", "-c", "user.email=ci@example.test"});
    return run_command(args);
  }

  void commit(const std::string& message) {
    git({"add", "-A"});
    git({"commit", "-q", "-m", message});
  }

  std::string last_run_dir() { return pipeline_run_dirs(root()).back(); }
  static json step(const json& s, const std::string& name) { return summary_step(s, name); }
  static std::string read(const std::string& path) { return read_text(path); }

  std::unique_ptr<TempDir> repo_;
};

TEST_F(PipelinePyLibTest, StagingTestsPackagesAndSignsWithTheSecretKeptSecret) {
  auto r = slipway({"pipeline", "run", "--repo", repo(), "--env", "staging", "--jobs", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("test: 6 tests, 0 failed, 0 errors, 0 skipped"), std::string::npos) << r.err;
  std::string dir = last_run_dir();
  json s = json::parse(read(dir + "/summary.json"));
  for (const char* name : {"lint", "test", "docs", "package", "sign"})
    EXPECT_EQ(step(s, name)["status"], "passed") << name << ": " << step(s, name)["message"];
  EXPECT_EQ(step(s, "report-failure")["status"], "skipped");
  // lint, test and docs overlapped; package started after all three ended.
  auto end_of = [&](const char* n) {
    return step(s, n)["start_unix_ms"].get<int64_t>() + step(s, n)["duration_ms"].get<int64_t>();
  };
  auto start_of = [&](const char* n) { return step(s, n)["start_unix_ms"].get<int64_t>(); };
  EXPECT_LT(start_of("test"), end_of("lint"));
  EXPECT_GE(start_of("package"), std::max({end_of("lint"), end_of("test"), end_of("docs")}));

  // The merged report: one test case per test, and the schema Jenkins' JUnit format follows.
  EXPECT_EQ(step(s, "test")["test_counts"]["tests"], 6);
  std::string junit = read(dir + "/junit.xml");
  EXPECT_NE(junit.find("<testsuite name=\"test: intervals\" tests=\"6\" failures=\"0\""), std::string::npos) << junit;
  EXPECT_NE(junit.find("name=\"test_overlaps_count_once\""), std::string::npos);
  auto valid = run_command({"xmllint", "--noout", "--schema", source_dir() + "/tests/data/junit-jenkins.xsd",
                            dir + "/junit.xml"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;

  // Artifacts: the docs, the package and its signature, linked from the report.
  EXPECT_TRUE(stdfs::exists(dir + "/artifacts/docs/docs/intervals.html"));
  std::string package = dir + "/artifacts/package/dist/intervals-1.0.0.tar.gz";
  ASSERT_TRUE(stdfs::exists(package));
  auto expected = run_command({"python3", "-c",
                               "import hmac, hashlib, sys; print(hmac.new(sys.argv[1].encode(), "
                               "open(sys.argv[2], 'rb').read(), hashlib.sha256).hexdigest())",
                               kReleaseKey, package});
  EXPECT_EQ(read(dir + "/artifacts/sign/dist/intervals-1.0.0.tar.gz.sig"), expected.out);
  EXPECT_NE(read(dir + "/report.html").find("href=\"artifacts/package/dist/intervals-1.0.0.tar.gz\""),
            std::string::npos);

  // The key is in no file slipway wrote: run dir, root (store, caches, mirrors), run root.
  auto grep = run_command({"grep", "-rlaF", "-e", kReleaseKey, "-e", "cmVsZWFzZS1rZXktZTJlLTVmMWM5",
                           dir, root() + "/pipelines", root() + "/images", run_root()});
  EXPECT_EQ(grep.out, "") << "files holding the secret";
}

TEST_F(PipelinePyLibTest, TestingSkipsTheSignStepAndAFailingTestIsNamed) {
  auto r = slipway({"pipeline", "run", "--repo", repo()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json s = json::parse(read(last_run_dir() + "/summary.json"));
  EXPECT_EQ(step(s, "sign")["status"], "skipped");
  EXPECT_EQ(step(s, "sign")["message"], "environment testing is not in its when.environment");

  std::string test = repo() + "/tests/test_core.py";
  std::string text = read(test);
  std::string right = "Interval(20, 21)]), 16)";
  ASSERT_NE(text.find(right), std::string::npos);
  text.replace(text.find(right), right.size(), "Interval(20, 21)]), 17)");
  std::ofstream(test) << text;
  commit("a wrong expectation");
  r = slipway({"pipeline", "run", "--repo", repo()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("FAILED tests.test_core.LengthTest.test_overlaps_count_once: 16 != 17"), std::string::npos)
      << r.err;
  std::string dir = last_run_dir();
  s = json::parse(read(dir + "/summary.json"));
  EXPECT_EQ(step(s, "test")["message"], "the script exited with 1 (6 tests, 1 failed)");
  EXPECT_EQ(step(s, "package")["status"], "skipped");
  EXPECT_EQ(step(s, "report-failure")["status"], "passed");
  EXPECT_NE(read(dir + "/report.html").find("<b>tests.test_core.LengthTest.test_overlaps_count_once</b> failed"),
            std::string::npos);
  auto valid = run_command({"xmllint", "--noout", "--schema", source_dir() + "/tests/data/junit-jenkins.xsd",
                            dir + "/junit.xml"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
}

}  // namespace
}  // namespace slipway::testing
