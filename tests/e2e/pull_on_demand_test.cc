// Images pulled on demand from a private Debian docker-registry on 127.0.0.1: `run` and `build`
// on an empty store pull what they lack, with Docker's policies (--pull missing|always|never,
// counted in the registry's access log), Docker Hub names served by a mirror from the root's
// registries.json, a multi-arch index resolved to the host's platform, concurrent pulls that
// download each blob once, and one clear line when a pull fails.
#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/support/local_registry.h"
#include "tests/support/test_support.h"

namespace slipway {
namespace {

using testing::CommandResult;
using testing::LocalRegistry;
using testing::TempDir;

class PullOnDemandTest : public testing::RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    if (!fs::exists(LocalRegistry::kBinary)) GTEST_SKIP() << "docker-registry is not installed";
    ASSERT_TRUE(fs::make_dirs(fs::join(scratch_.path(), "reg")));
    registry_ = std::make_unique<LocalRegistry>(fs::join(scratch_.path(), "reg"));
    ASSERT_EQ(registry_->error(), "");
    // The registry gets busybox from another root, so this test's own store starts empty.
    std::string source = fs::join(scratch_.path(), "source-root");
    auto load = other_root(source, {"image", "load", testing::busybox_layout()});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    for (const auto& name : {"app:1", "library/busybox:latest"}) {
      auto push = other_root(source, {"push", "busybox:latest", registry_->ref(name)});
      ASSERT_EQ(push.exit_code, 0) << push.err;
    }
    other_root(source, {"gc"});
  }

  CommandResult other_root(const std::string& root, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {testing::slipway_binary(), "--root", root, "--run-root",
                                     fs::join(scratch_.path(), "source-run")};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv);
  }

  int manifest_gets(const std::string& repo_tag) {
    auto colon = repo_tag.rfind(':');
    return registry_->count("GET /v2/" + repo_tag.substr(0, colon) + "/manifests/" + repo_tag.substr(colon + 1));
  }

  // A failed command ends with exactly one "slipway: error:" line (after the note of a pull it
  // tried) and exits 125.
  static void expect_error(const CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_TRUE(testing::last_line(r.err).starts_with("slipway: error: ")) << r.err;
    EXPECT_EQ(testing::count(r.err, "slipway: error: "), 1) << r.err;
    EXPECT_NE(testing::last_line(r.err).find(needle), std::string::npos) << r.err;
  }

  TempDir scratch_{"slipway-pull-e2e"};
  std::unique_ptr<LocalRegistry> registry_;
};

TEST_F(PullOnDemandTest, RunPullsAMissingImageOnceAndFollowsThePolicy) {
  std::string image = registry_->ref("app:1");
  auto never = slipway({"run", "--rm", "--pull", "never", image, "true"});
  expect_error(never, "no such image");
  EXPECT_EQ(manifest_gets("app:1"), 0);

  auto first = slipway({"run", "--rm", image, "echo", "hi"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "hi\n");
  // Not a terminal: one note, then one plain line per layer.
  EXPECT_NE(first.err.find("slipway: pulling " + image + " from " + registry_->host()), std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find(": Pulled "), std::string::npos) << first.err;
  EXPECT_EQ(manifest_gets("app:1"), 1);

  // missing: the store has it now, the registry is not asked again.
  auto second = slipway({"run", "--rm", image, "true"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.err, "");
  EXPECT_EQ(manifest_gets("app:1"), 1);
  // always: the tag is looked up again; its layer is already here.
  auto always = slipway({"run", "--rm", "--pull", "always", image, "true"});
  ASSERT_EQ(always.exit_code, 0) << always.err;
  EXPECT_EQ(manifest_gets("app:1"), 2);
  EXPECT_NE(always.err.find(": Exists "), std::string::npos) << always.err;

  auto bad_policy = slipway({"run", "--rm", "--pull", "sometimes", image, "true"});
  expect_error(bad_policy, "invalid pull policy \"sometimes\"");
}

TEST_F(PullOnDemandTest, AFailedPullNamesTheImageAndTheRegistrysAnswer) {
  auto r = slipway({"run", "--rm", registry_->ref("app:nope"), "true"});
  expect_error(r, "image " + registry_->ref("app:nope") + ": not in the store, and its pull from " +
                      registry_->host() + " failed");
  EXPECT_NE(r.err.find("manifest unknown"), std::string::npos) << r.err;
  EXPECT_EQ(slipway({"image", "ls", "-q"}).out, "");
}

TEST_F(PullOnDemandTest, BuildPullsItsFromImage) {
  std::string context = fs::join(scratch_.path(), "ctx");
  ASSERT_TRUE(fs::make_dirs(context));
  std::ofstream(context + "/Dockerfile") << "FROM " << registry_->ref("app:1") << "\nRUN echo built > /built\n";
  auto never = slipway({"build", "--pull", "never", "-t", "x:1", context});
  expect_error(never, "no such image");
  auto build = slipway({"build", "-t", "x:1", context});
  ASSERT_EQ(build.exit_code, 0) << build.err;
  EXPECT_EQ(manifest_gets("app:1"), 1);
  auto run = slipway({"run", "--rm", "x:1", "cat", "/built"});
  EXPECT_EQ(run.out, "built\n") << run.err;
}

TEST_F(PullOnDemandTest, AMirrorInRegistriesJsonServesDockerHubNames) {
  std::ofstream(root() + "/registries.json")
      << R"({"registry-mirrors": ["http://)" << registry_->host() << R"("]})";
  auto r = slipway({"run", "--rm", "busybox", "echo", "from-mirror"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "from-mirror\n");
  EXPECT_EQ(manifest_gets("library/busybox:latest"), 1);
  // Named as the user wrote it, not after the mirror.
  auto ls = slipway({"image", "ls"});
  EXPECT_NE(ls.out.find("busybox"), std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find(registry_->host()), std::string::npos) << ls.out;

  std::ofstream(root() + "/registries.json") << R"({"registry-mirrors": "not a list"})";
  auto bad = slipway({"run", "--rm", "--pull", "always", "busybox", "true"});
  expect_error(bad, root() + "/registries.json: \"registry-mirrors\" must be a list of strings");
  EXPECT_EQ(bad.err.find("pulling"), std::string::npos) << bad.err;
}

TEST_F(PullOnDemandTest, RunPullsTheHostPlatformOfAMultiArchIndex) {
  // busybox's layout with an index listing its manifest as linux/arm64 (first) and linux/amd64.
  std::string layout = fs::join(scratch_.path(), "multiarch");
  ASSERT_EQ(testing::run_command({"cp", "-r", testing::busybox_layout(), layout}).exit_code, 0);
  std::string manifest_digest =
      nlohmann::json::parse(*fs::read_file(layout + "/index.json"))["manifests"][0]["digest"];
  ASSERT_NE(testing::make_platform_index(layout, {"arm64", "amd64"}, "multi"), "");
  std::string image = registry_->ref("multiarch:1");
  auto copy = testing::run_command({"skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false",
                                    "oci:" + layout + ":multi", "docker://" + image});
  ASSERT_EQ(copy.exit_code, 0) << copy.err;

  auto run = slipway({"run", "--rm", "--net", "none", image, "echo", "hi"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hi\n");
  EXPECT_EQ(manifest_gets("multiarch:1"), 1);  // the index, by tag
  EXPECT_EQ(registry_->count("GET /v2/multiarch/manifests/" + manifest_digest), 1);
}

TEST_F(PullOnDemandTest, ConcurrentPullsDownloadEachLayerOnce) {
  // Four layers of 2 MB (three COPYs over busybox), so that the pulls overlap.
  std::string context = fs::join(scratch_.path(), "layers");
  ASSERT_TRUE(fs::make_dirs(context));
  std::string dockerfile = "FROM busybox\n";
  for (const char* name : {"a", "b", "c"}) {
    auto random = testing::run_command(
        {"sh", "-c", fmt::format("head -c 2000000 /dev/urandom > {}/{}", context, name)});
    ASSERT_EQ(random.exit_code, 0);
    dockerfile += fmt::format("COPY {0} /{0}\n", name);
  }
  ASSERT_TRUE(fs::write_file(context + "/Dockerfile", dockerfile));
  std::string source = fs::join(scratch_.path(), "source-root");
  auto built = other_root(source, {"build", "--pull", "never", "-q", "-t", "layers:1", context});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  std::string image = registry_->ref("layers:1");
  auto push = other_root(source, {"push", "layers:1", image});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  auto inspect = nlohmann::json::parse(other_root(source, {"image", "inspect", "layers:1"}).out)[0];
  auto manifest = nlohmann::json::parse(
      *fs::read_file(source + "/blobs/sha256/" + inspect["ManifestDigest"].get<std::string>().substr(7)));
  ASSERT_EQ(manifest["layers"].size(), 4u);

  std::vector<std::future<CommandResult>> pulls;
  for (int i = 0; i < 4; ++i) pulls.push_back(std::async(std::launch::async, [&] { return slipway({"pull", image}); }));
  for (auto& p : pulls) {
    CommandResult r = p.get();
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  for (const auto& l : manifest["layers"])
    EXPECT_EQ(registry_->count("GET /v2/layers/blobs/" + l["digest"].get<std::string>()), 1) << l["digest"];
  // The config (a few hundred bytes) is fetched by each pull: it enters the store only with the image.
  EXPECT_LE(registry_->count("GET /v2/layers/blobs/" + manifest["config"]["digest"].get<std::string>()), 4);
  auto run = slipway({"run", "--rm", "--net", "none", image, "sh", "-c", "cat /a /b /c | wc -c"});
  EXPECT_EQ(run.out, "6000000\n") << run.err;
  // Nothing of the downloads is left in the store's staging area.
  EXPECT_EQ(fs::list_dir(root() + "/tmp").value_or(std::vector<std::string>{"?"}), std::vector<std::string>{});
}

}  // namespace
}  // namespace slipway
