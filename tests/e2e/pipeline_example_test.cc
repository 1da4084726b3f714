// The example pipeline goes green: examples/hello-app's own .slipway.yml, run in staging against a
// private docker-registry, with only its ports, registry, network name and subnet made private to
// this test. Checks the reports, the live tests' count from the redis snapshot, the pushed stripped
// image (skopeo), the prodlike services, and a second commit that redeploys in place.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "base/fs.h"
#include "tests/support/local_registry.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

// Replaces every `from` in text with `to`; returns how many there were.
int replace_all(std::string& text, const std::string& from, const std::string& to) {
  int n = 0;
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size(), ++n)
    text.replace(at, from.size(), to);
  return n;
}

class PipelineExampleTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(LocalRegistry::kBinary)) GTEST_SKIP() << "docker-registry is not installed";
    if (run_command({"sh", "-c", "command -v skopeo"}).exit_code != 0)
      GTEST_SKIP() << "skopeo is not installed";
    ASSERT_TRUE(fs::exists(redis_layout() + "/index.json"))
        << "no redis test image at " << redis_layout() << ": run scripts/mkimage-redis "
        << redis_layout() << " (the make_redis_image ctest fixture does)";
    ::setenv("SLIPWAY_DNS_UPSTREAMS", "127.0.0.1:9", 1);
    // No credentials of the host's own user may reach the registry or skopeo.
    ASSERT_TRUE(fs::make_dirs(work_.path() + "/docker-config"));
    ::setenv("DOCKER_CONFIG", (work_.path() + "/docker-config").c_str(), 1);
    load_busybox();
    auto redis = slipway({"image", "load", redis_layout()});
    ASSERT_EQ(redis.exit_code, 0) << redis.err;

    ASSERT_TRUE(fs::make_dirs(work_.path() + "/registry"));
    registry_ = std::make_unique<LocalRegistry>(work_.path() + "/registry");
    ASSERT_EQ(registry_->error(), "");

    net_ = "px" + std::to_string(getpid() % 100000);
    subnet_ = unused_subnet();
    ASSERT_NE(subnet_, "") << "no free 172.x.y.0/24 subnet";
    redis_port_ = free_port();
    repo_ = work_.path() + "/hello-app";
    stdfs::copy(source_dir() + "/examples/hello-app", repo_, stdfs::copy_options::recursive);
    std::string file = *fs::read_file(repo_ + "/.slipway.yml");
    ASSERT_GT(replace_all(file, "6379", std::to_string(redis_port_)), 0);
    ASSERT_EQ(replace_all(file, "127.0.0.1:5000", registry_->host()), 1);
    ASSERT_EQ(replace_all(file, "network: prodlike", "network: " + net_), 1);
    ASSERT_EQ(replace_all(file, "subnet: 172.30.0.0/24", "subnet: " + subnet_), 1);
    ASSERT_TRUE(fs::write_file(repo_ + "/.slipway.yml", file));
    snapshot_ = *fs::read_file(repo_ + "/snapshots/redis/dump.rdb");
    ASSERT_EQ(git({"init", "-q", "-b", "main"}).exit_code, 0);
  }

  void TearDown() override {
    if (!IsSkipped()) {
      for (const auto& line : split_lines(slipway({"ps", "-aq"}).out)) slipway({"rm", "-f", line});
      if (!net_.empty()) slipway({"network", "rm", net_});
      for (int i = 0; i < 150 && !processes_containing(root()).empty(); ++i) usleep(20000);
    }
    RootTest::TearDown();
    registry_.reset();
  }

  // A 172.x.y.0/24 picked from the pid (as network_test and pipeline_test do, with other offsets)
  // that no route of the host covers yet.
  static std::string unused_subnet() {
    std::string routes = run_command({"ip", "-4", "route", "show", "table", "all"}).out;
    for (int attempt = 0; attempt < 20; ++attempt) {
      int x = 20 + (getpid() + 5 + attempt) % 10, y = (getpid() / 10 + 131 + attempt * 11) % 250;
      std::string prefix = "172." + std::to_string(x) + "." + std::to_string(y) + ".";
      if (routes.find(prefix) == std::string::npos) return prefix + "0/24";
    }
    return "";
  }

  CommandResult git(std::vector<std::string> args) {
    args.insert(args.begin(),
                {"git", "-C", repo_, "-c", "user.name=ci", "-c", "user.email=ci@example.test"});
    return run_command(args);
  }

  // Commits everything in the repository; returns the commit id.
  std::string commit(const std::string& message) {
    EXPECT_EQ(git({"add", "-A"}).exit_code, 0);
    auto c = git({"commit", "-q", "-m", message});
    EXPECT_EQ(c.exit_code, 0) << c.err;
    auto head = git({"rev-parse", "HEAD"}).out;
    return head.substr(0, head.find('\n'));
  }

  CommandResult run_pipeline(const std::string& what) {
    auto started = std::chrono::steady_clock::now();
    auto r = slipway({"pipeline", "run", "--repo", repo_, "--env", "staging"});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::cout << "[ TIMING   ] pipeline run (" << what << "): " << ms.count() << " ms" << std::endl;
    RecordProperty("pipeline_ms_" + what, static_cast<int>(ms.count()));
    return r;
  }

  std::string newest_run_dir() {
    std::vector<std::string> dirs;
    for (auto& e : stdfs::directory_iterator(root() + "/pipelines/runs"))
      dirs.push_back(e.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs.empty() ? "" : dirs.back();
  }

  // The step logs of a run, for failure messages.
  static std::string logs(const std::string& run_dir) {
    std::string out;
    for (const char* step : {"unit", "integration", "deploy", "live", "push"})
      out += fmt::format("--- {}.log:\n{}", step,
                         fs::read_file(run_dir + "/" + step + ".log").value_or("(none)\n"));
    return out;
  }

  // Every step of the newest run passed, push included.
  void expect_all_steps_passed(const std::string& run_dir) {
    json s = json::parse(fs::read_file(run_dir + "/summary.json").value_or("{}"));
    EXPECT_TRUE(s.value("passed", false)) << s.dump(2);
    std::vector<std::string> names;
    for (const auto& st : s["steps"]) {
      names.push_back(st["name"]);
      EXPECT_EQ(st["status"], "passed") << st.dump();
    }
    EXPECT_EQ(names, (std::vector<std::string>{"checkout", "build", "unit", "integration", "deploy",
                                               "live", "push"}));
  }

  // `skopeo inspect` of a tag in the test registry, as JSON (--config: the image config).
  json skopeo_inspect(const std::string& tag, bool config = false) {
    std::vector<std::string> argv = {"skopeo", "inspect", "--tls-verify=false"};
    if (config) argv.push_back("--config");
    argv.push_back("docker://" + registry_->ref("hello-app:" + tag));
    // Not set for the whole process: docker-registry reads REGISTRY_* as configuration.
    auto r =
        run_command(argv, "", {"REGISTRY_AUTH_FILE=" + work_.path() + "/docker-config/auth.json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.exit_code == 0 ? r.out : "{}");
  }

  std::string fetch_deployed_page() {
    return slipway(
               {"run", "--rm", "--net", net_, "busybox", "wget", "-qO-", "http://hello-app:8080/"})
        .out;
  }

  TempDir work_{"slipway-example"};
  std::unique_ptr<LocalRegistry> registry_;
  std::string repo_, net_, subnet_, snapshot_;
  int redis_port_ = 0;
};

TEST_F(PipelineExampleTest, StagingGoesGreenPushesTheStrippedImageAndRedeploys) {
  std::string first_commit = commit("hello-app 1.0");
  auto first = run_pipeline("first");
  std::string dir = newest_run_dir();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err << logs(dir);
  expect_all_steps_passed(dir);

  // live.sh counted on from the snapshot's hits = 1000: the prodlike redis started from it.
  std::string live = fs::read_file(dir + "/live.log").value_or("");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      live, m, std::regex("ok +/cgi-bin/hits counts on from the production data: hits ([0-9]+)")))
      << live;
  EXPECT_GT(std::stol(m[1].str()), 1000) << live;

  // Both tags name one manifest, and it is the stripped image's.
  json staging = skopeo_inspect("staging");
  json by_commit = skopeo_inspect(first_commit);
  ASSERT_TRUE(staging.contains("Digest")) << staging.dump();
  EXPECT_EQ(staging["Digest"], by_commit["Digest"]);
  json config = skopeo_inspect("staging", true);
  EXPECT_EQ(config["config"]["User"], "65534:65534") << config.dump(2);
  EXPECT_EQ(config["config"]["Entrypoint"],
            json::array({"/bin/httpd", "-f", "-p", "8080", "-h", "/srv/www"}));

  auto status = slipway({"services", "status", "prodlike", "--file", repo_ + "/.slipway.yml"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  std::string net_prefix = subnet_.substr(0, subnet_.rfind('.') + 1);
  EXPECT_TRUE(std::regex_search(
      status.out, std::regex("redis-cluster-a-node-1 +running +[0-9a-f]{12} +" +
                             std::regex_replace(net_prefix, std::regex("\\."), "\\.") +
                             "[0-9]+:" + std::to_string(redis_port_))))
      << status.out;
  EXPECT_EQ(fs::read_file(repo_ + "/snapshots/redis/dump.rdb").value_or(""), snapshot_);

  // A second commit with a new version: redeployed in place.
  std::string file = *fs::read_file(repo_ + "/.slipway.yml");
  ASSERT_EQ(replace_all(file, "VERSION: \"1.0\"", "VERSION: \"1.1\""), 1);
  ASSERT_TRUE(fs::write_file(repo_ + "/.slipway.yml", file));
  std::string second_commit = commit("hello-app 1.1");
  auto second = run_pipeline("second");
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err << logs(newest_run_dir());
  expect_all_steps_passed(newest_run_dir());
  EXPECT_EQ(skopeo_inspect("staging")["Digest"], skopeo_inspect(second_commit)["Digest"]);
  EXPECT_NE(skopeo_inspect("staging")["Digest"], by_commit["Digest"]) << "staging moved to 1.1";

  EXPECT_NE(fetch_deployed_page().find("version 1.1"), std::string::npos);
  int deployed = 0;
  for (const auto& line : split_lines(slipway({"ps", "-a"}).out))
    if (line.find("hello-app-staging-") != std::string::npos) ++deployed;
  EXPECT_EQ(deployed, 1) << slipway({"ps", "-a"}).out;

  EXPECT_EQ(fs::read_file(repo_ + "/snapshots/redis/dump.rdb").value_or(""), snapshot_)
      << "the snapshot in the repository is never written";
}

}  // namespace
}  // namespace slipway::testing
