// docs/ci-translations.md: each .slipway.yml there (a GitLab job with a redis service and
// artifacts, a Woodpecker pipeline with depends_on and when) runs green on a small repository of
// the kind the original file was written for, taken from the page itself so the docs stay true.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/pipeline_helpers.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::string read(const std::string& path) { return read_text(path); }

// The ```yaml block after "<!-- translation: NAME -->" in docs/ci-translations.md.
std::string translation(const std::string& name) {
  std::string doc = read(source_dir() + "/docs/ci-translations.md");
  size_t marker = doc.find("<!-- translation: " + name + " -->");
  if (marker == std::string::npos) return "";
  size_t start = doc.find("```yaml\n", marker);
  size_t end = doc.find("```\n", start + 8);
  return doc.substr(start + 8, end - start - 8);
}

class PipelineTranslationsTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    ::setenv("SLIPWAY_DNS_UPSTREAMS", "127.0.0.1:9", 1);
    repo_ = std::make_unique<GitRepo>("slipway-translation");
  }

  void TearDown() override {
    if (!IsSkipped())
      for (const auto& id : split_lines(slipway({"ps", "-aq"}).out)) slipway({"rm", "-f", id});
    RootTest::TearDown();
  }

  void write(const std::string& path, const std::string& text) { repo_->write(path, text); }
  void commit() { repo_->commit("ci"); }

  std::pair<json, std::string> last_run() {
    std::string dir = pipeline_run_dirs(root()).back();
    return {run_summary(dir), dir};
  }

  static json step(const json& s, const std::string& name) { return summary_step(s, name); }

  std::unique_ptr<GitRepo> repo_;
};

TEST_F(PipelineTranslationsTest, TheGitlabJobWithARedisServiceAndArtifacts) {
  ASSERT_TRUE(stdfs::exists(python_layout() + "/index.json")) << "the make_python_image fixture makes it";
  ASSERT_EQ(slipway({"image", "load", python_layout()}).exit_code, 0);
  ASSERT_EQ(slipway({"image", "load", redis_layout()}).exit_code, 0);
  std::string file = translation("gitlab");
  ASSERT_NE(file.find("network: gitlab-ci"), std::string::npos) << file;
  // A network and subnet of this test's own: a subnet chosen from the default pools (a /16) could
  // overlap the fixed /24s of tests running beside it.
  int pid = ::getpid();
  std::string net = "gl" + std::to_string(pid % 100000);
  std::string subnet = "10." + std::to_string(210 + pid % 40) + "." + std::to_string(pid / 40 % 256) + ".0/24";
  file.replace(file.find("network: gitlab-ci"), std::string("network: gitlab-ci").size(),
               "network: " + net + "\n    subnet: " + subnet);
  write(".slipway.yml", file);
  write("app/__init__.py", "NAME = 'app'\n");
  write("tests/__init__.py", "");
  write("tests/test_redis.py",
        "import os, socket, unittest\n\n\n"
        "class RedisTest(unittest.TestCase):\n"
        "    def test_the_service_answers_by_its_name(self):\n"
        "        with socket.create_connection((os.environ['REDIS_HOST'], 6379), timeout=10) as s:\n"
        "            s.sendall(b'PING\\r\\n')\n"
        "            self.assertEqual(s.recv(64), b'+PONG\\r\\n')\n");
  commit();
  auto r = slipway({"pipeline", "run", "--repo", repo_->path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto [s, dir] = last_run();
  EXPECT_EQ(step(s, "unit")["status"], "passed");
  EXPECT_EQ(step(s, "package")["status"], "passed");
  std::string output = read(dir + "/artifacts/unit/test-output/unittest.txt");
  EXPECT_NE(output.find("RedisTest.test_the_service_answers_by_its_name) ... ok"), std::string::npos) << output;
  EXPECT_TRUE(stdfs::exists(dir + "/artifacts/package/dist/app.tar.gz"));
  slipway({"network", "rm", net});
}

TEST_F(PipelineTranslationsTest, TheWoodpeckerPipelineWithDependsOnAndWhen) {
  load_busybox();
  write(".slipway.yml", translation("woodpecker"));
  write("bin/greet.sh", "#!/bin/sh\necho \"hello, ${1:-world}\"\n");
  write("test/run.sh", "set -e\n[ \"$(sh bin/greet.sh ci)\" = 'hello, ci' ]\necho 'greet: ok'\n");
  write("README.md", "# greet\n");
  commit();
  // A push to main: the release runs.
  auto r = slipway({"pipeline", "run", "--repo", repo_->path(), "--branch", "main", "--event", "push"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto [s, dir] = last_run();
  for (const char* name : {"syntax", "test", "docs", "release"}) EXPECT_EQ(step(s, name)["status"], "passed") << name;
  EXPECT_EQ(step(s, "notify")["status"], "skipped");
  EXPECT_TRUE(stdfs::exists(dir + "/artifacts/release/release.tgz"));
  EXPECT_TRUE(stdfs::exists(dir + "/artifacts/docs/public/README.md"));
  EXPECT_NE(read(dir + "/test.log").find("greet: ok"), std::string::npos);

  // Started by hand, no release; a broken script fails the test and the notify step runs.
  write("bin/greet.sh", "#!/bin/sh\necho \"hi, ${1:-world}\"\n");
  commit();
  r = slipway({"pipeline", "run", "--repo", repo_->path()});
  EXPECT_EQ(r.exit_code, 1);
  auto [f, fdir] = last_run();
  EXPECT_EQ(step(f, "test")["status"], "failed");
  EXPECT_EQ(step(f, "release")["status"], "skipped");
  EXPECT_EQ(step(f, "notify")["status"], "passed");
  EXPECT_NE(read(fdir + "/notify.log").find("build of " + f["commit"].get<std::string>() + " failed"),
            std::string::npos);
}

}  // namespace
}  // namespace slipway::testing
