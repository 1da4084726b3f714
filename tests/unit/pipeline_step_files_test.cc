// What a step leaves and takes in the workspace: artifact patterns, copying without following a
// symlink a container planted, JUnit reports, cache keys, secrets files and caches.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"
#include "pipeline/artifacts.h"
#include "pipeline/cache_key.h"
#include "pipeline/caches.h"
#include "pipeline/junit_input.h"
#include "pipeline/secrets.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using slipway::testing::TempDir;

void write(const std::string& path, const std::string& text) {
  stdfs::create_directories(stdfs::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(ArtifactsTest, PatternsMatchAsGlobsWithDirectoriesAndDoubleStars) {
  EXPECT_TRUE(artifact_matches("dist/*.whl", "dist/lib-1.0.whl"));
  EXPECT_FALSE(artifact_matches("dist/*.whl", "dist/sub/lib.whl")) << "* stays in its directory";
  EXPECT_TRUE(artifact_matches("**/*.xml", "build/reports/a.xml"));
  EXPECT_TRUE(artifact_matches("dist/", "dist"));
  EXPECT_TRUE(artifact_matches("./coverage.txt", "coverage.txt"));
}

TEST(ArtifactsTest, MatchingFilesAreCopiedAndLinksNeverFollowed) {
  TempDir ws("slipway-ws"), out("slipway-art");
  write(ws.path() + "/dist/lib-1.0.whl", "wheel");
  write(ws.path() + "/dist/sub/notes.txt", "notes");
  write(ws.path() + "/src/main.py", "print()");
  // A container may plant links to host files: they are not copied, nor followed into.
  ASSERT_EQ(::symlink("/etc/shadow", (ws.path() + "/dist/shadow.whl").c_str()), 0);
  ASSERT_EQ(::symlink("/etc", (ws.path() + "/dist/etc").c_str()), 0);
  ASSERT_EQ(::mkfifo((ws.path() + "/dist/fifo.whl").c_str(), 0600), 0);
  auto got = collect_files(ws.path(), {"dist/", "nothing/*"}, out.path() + "/a");
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->files, (std::vector<std::string>{"dist/lib-1.0.whl", "dist/sub/notes.txt"}));
  EXPECT_EQ(got->bytes, 10u);
  EXPECT_FALSE(stdfs::exists(out.path() + "/a/dist/shadow.whl"));
  EXPECT_FALSE(stdfs::exists(out.path() + "/a/dist/etc"));
  std::ifstream in(out.path() + "/a/dist/lib-1.0.whl");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "wheel");
}

TEST(ArtifactsTest, TheCopyStopsAtItsLimits) {
  TempDir ws("slipway-ws"), out("slipway-art");
  for (int i = 0; i < 5; ++i) write(ws.path() + "/f" + std::to_string(i), "12345");
  auto got = collect_files(ws.path(), {"*"}, out.path(), {.max_bytes = 12, .max_files = 10, .max_entries = 100});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->files.size(), 2u);
  EXPECT_THAT(got->truncated, HasSubstr("more than 12 bytes"));
}

TEST(JunitInputTest, CasesOfPytestAndCtestReportsWithTheirOutcome) {
  auto tests = parse_junit_report(R"(<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="4" time="0.5">
<testcase classname="tests.test_core" name="test_add" time="0.001"/>
<testcase classname="tests.test_core" name="test_div" time="0.2"><failure message="ZeroDivisionError: division by zero">Traceback...
ZeroDivisionError</failure></testcase>
<testcase classname="tests.test_core" name="test_io" time="0"><skipped message="no network"/></testcase>
<testcase classname="tests.test_core" name="test_env" time="0.1"><error message="fixture">boom</error></testcase>
</testsuite></testsuites>)",
                                  "report.xml");
  ASSERT_TRUE(tests) << tests.error().message();
  ASSERT_EQ(tests->size(), 4u);
  EXPECT_EQ((*tests)[0].suite, "pytest");
  EXPECT_EQ((*tests)[0].status, TestStatus::kPassed);
  EXPECT_EQ((*tests)[1].status, TestStatus::kFailed);
  EXPECT_EQ((*tests)[1].message, "ZeroDivisionError: division by zero");
  EXPECT_EQ((*tests)[1].details, "Traceback...\nZeroDivisionError");
  EXPECT_EQ((*tests)[1].seconds, 0.2);
  EXPECT_EQ((*tests)[2].status, TestStatus::kSkipped);
  EXPECT_EQ((*tests)[3].status, TestStatus::kError);
  TestCounts c = count_tests(*tests);
  EXPECT_EQ(c.failures, 1u);
  EXPECT_EQ(c.errors, 1u);
  EXPECT_EQ(c.skipped, 1u);

  // ctest --output-junit: a <testsuite> root.
  auto ctest = parse_junit_report(
      "<testsuite name=\"Linux-c++\" tests=\"1\"><testcase name=\"unit\" classname=\"unit\" time=\"0.01\" "
      "status=\"run\"><system-out>ok</system-out></testcase></testsuite>",
      "build/junit.xml");
  ASSERT_TRUE(ctest) << ctest.error().message();
  ASSERT_EQ(ctest->size(), 1u);
  EXPECT_EQ((*ctest)[0].suite, "Linux-c++");
}

TEST(JunitInputTest, HostileOrBrokenReportsAreRefusedWithTheirName) {
  auto bomb = parse_junit_report(
      "<?xml version=\"1.0\"?><!DOCTYPE t [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><testsuite>&b;</testsuite>",
      "evil.xml");
  ASSERT_FALSE(bomb);
  EXPECT_THAT(bomb.error().message(), StartsWith("JUnit report evil.xml: has a DTD"));
  auto broken = parse_junit_report("<testsuite><testcase name=\"a\">", "cut.xml");
  ASSERT_FALSE(broken);
  EXPECT_THAT(broken.error().message(), StartsWith("JUnit report cut.xml: line "));
  auto other = parse_junit_report("<html/>", "page.xml");
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message(), HasSubstr("not <testsuites> or <testsuite>"));
}

TEST(CacheKeyTest, ChecksumsAndVariablesMakeADirectoryName) {
  TempDir ws("slipway-ws");
  write(ws.path() + "/requirements.txt", "pytest==7\n");
  auto checksum = workspace_checksum(ws.path());
  std::map<std::string, std::string> vars = {{"CI_COMMIT_BRANCH", "feature/x"}};
  auto key = expand_cache_key("pip-{{ checksum \"requirements.txt\" }}-${CI_COMMIT_BRANCH}", vars, checksum);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_THAT(*key, StartsWith("pip-"));
  EXPECT_EQ(key->size(), 4 + 16 + 1 + 9u);
  EXPECT_TRUE(key->ends_with("-feature_x")) << *key << ": '/' cannot make a path";
  write(ws.path() + "/requirements.txt", "pytest==8\n");
  EXPECT_NE(*expand_cache_key("pip-{{ checksum \"requirements.txt\" }}", vars, checksum),
            key->substr(0, 20)) << "a new lock file, a new cache";

  // A link out of the workspace is not followed.
  ASSERT_EQ(::symlink("/etc/hostname", (ws.path() + "/link").c_str()), 0);
  auto out = expand_cache_key("{{ checksum \"link\" }}", vars, checksum);
  EXPECT_FALSE(out) << *out;
  EXPECT_FALSE(expand_cache_key("{{ checksum \"../../etc/passwd\" }}", vars, checksum));
  auto dots = expand_cache_key("..", vars, checksum);
  ASSERT_TRUE(dots);
  EXPECT_EQ(dots->size(), 64u) << "\"..\" is no directory name: it is hashed";

  EXPECT_TRUE(check_cache_key("go-${CI_COMMIT_BRANCH}-{{ checksum \"go.sum\" }}"));
  EXPECT_THAT(check_cache_key("{{ hash \"x\" }}").error().message(), HasSubstr("unknown {{ hash \"x\" }}"));
  EXPECT_THAT(check_cache_key("{{ checksum x }}").error().message(), HasSubstr("one quoted file name"));
  EXPECT_THAT(check_cache_key("x-${NOPE}").error().message(), HasSubstr("undefined variable ${NOPE}"));
}

TEST(SecretsTest, TheFileMustBeOnlyItsOwners) {
  TempDir dir("slipway-secrets");
  std::string path = dir.path() + "/app.env";
  write(path, "# comment\nAPI_TOKEN=abcdefgh1234\nSHORT=abc\nKEY=with=equals-inside\n");
  ::chmod(path.c_str(), 0644);
  auto open = load_secrets(path, true);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().message(), "secrets file " + path + ": mode 0644 lets other users at it; chmod 600 it");
  ::chmod(path.c_str(), 0600);
  auto secrets = load_secrets(path, true);
  ASSERT_TRUE(secrets) << secrets.error().message();
  EXPECT_EQ(secrets->values.at("API_TOKEN"), "abcdefgh1234");
  EXPECT_EQ(secrets->values.at("KEY"), "with=equals-inside");

  std::string link = dir.path() + "/link.env";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_THAT(load_secrets(link, true).error().message(), HasSubstr("is a symlink"));
  EXPECT_TRUE(load_secrets(dir.path() + "/missing.env", false)->values.empty());
  EXPECT_FALSE(load_secrets(dir.path() + "/missing.env", true));

  PipelineSpec spec;
  spec.file = ".slipway.yml";
  StepSpec step;
  step.name = "test";
  step.line = 7;
  step.secrets = {{"SHORT", false}};
  auto values = used_secret_values(spec, {&step}, *secrets);
  ASSERT_FALSE(values);
  EXPECT_EQ(values.error().message(),
            ".slipway.yml:7: steps.test.secrets: the value of SHORT is shorter than 8 bytes, too short to mask in logs");
  step.secrets = {{"MISSING", false}};
  EXPECT_THAT(used_secret_values(spec, {&step}, *secrets).error().message(), HasSubstr("MISSING is not in " + path));
  step.secrets = {{"API_TOKEN", false}, {"KEY", true}};
  EXPECT_EQ(*used_secret_values(spec, {&step}, *secrets),
            (std::vector<std::string>{"abcdefgh1234", "with=equals-inside"}));

  auto files = write_step_secrets(dir.path() + "/step", step.secrets, *secrets);
  ASSERT_TRUE(files) << files.error().message();
  std::ifstream env(files->env_file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(env), {}), "API_TOKEN=abcdefgh1234\n");
  EXPECT_EQ(stdfs::status(files->env_file).permissions(), stdfs::perms::owner_read | stdfs::perms::owner_write);
  EXPECT_EQ(stdfs::status(dir.path() + "/step").permissions(), stdfs::perms::owner_all);
  EXPECT_EQ(stdfs::status(files->files_dir + "/KEY").permissions(), stdfs::perms::owner_read);
}

TEST(CachesTest, ALeaseLocksItsKeyAndPruneRemovesTheLeastRecentlyUsed) {
  TempDir root("slipway-cache-root");
  {
    auto lease = lease_caches(root.path(), {{"old", {"/root/.cache/pip"}}});
    ASSERT_TRUE(lease) << lease.error().message();
    ASSERT_EQ(lease->mounts.size(), 1u);
    EXPECT_EQ(lease->mounts[0].container_path, "/root/.cache/pip");
    EXPECT_EQ(lease->notes, (std::vector<std::string>{"cache old: new"}));
    write(lease->mounts[0].host_dir + "/wheel", std::string(64 * 1024, 'x'));
  }
  usleep(20000);
  {
    auto lease = lease_caches(root.path(), {{"new", {"/cache"}}});
    ASSERT_TRUE(lease);
    write(lease->mounts[0].host_dir + "/blob", std::string(64 * 1024, 'y'));
  }
  auto again = lease_caches(root.path(), {{"new", {"/cache"}}});
  ASSERT_TRUE(again);
  EXPECT_THAT(again->notes[0], StartsWith("cache new: hit ("));
  EXPECT_EQ(stdfs::status(caches_dir(root.path())).permissions() & stdfs::perms::all, stdfs::perms::owner_all);

  // "new" is held by `again`: only "old" may go, though both together are over the limit.
  auto pruned = prune_caches(root.path(), 1);
  ASSERT_TRUE(pruned) << pruned.error().message();
  ASSERT_EQ(pruned->size(), 1u);
  EXPECT_EQ((*pruned)[0].key, "old");
  EXPECT_FALSE(stdfs::exists(caches_dir(root.path()) + "/old/data"));
  EXPECT_TRUE(stdfs::exists(caches_dir(root.path()) + "/new/data/cache/blob"));
}

}  // namespace
}  // namespace slipway::pipeline
