// What `slipway build` writes is what peers read: --output oci / oci-archive / docker-archive
// checked with skopeo and ../shared/tools/oci-layout-validate, and the same inputs give the same
// image id and manifest digest in another store root, whatever the files' times.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

using nlohmann::json;

bool have(const std::string& tool) {
  return run_command({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

constexpr const char* kDockerfile =
    "FROM busybox AS build\n"
    "COPY src/ /src/\n"
    "RUN mkdir /out && cat /src/*.txt > /out/all.txt && rm -rf /tmp && mkdir /tmp\n"
    "FROM busybox\n"
    "COPY --from=build /out/all.txt /srv/\n"
    "LABEL org.opencontainers.image.title=outputs\n"
    "CMD [\"cat\", \"/srv/all.txt\"]\n";

class BuildOutputsTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
    write_context(ctx_.path());
  }

  static void write_context(const std::string& dir) {
    ASSERT_TRUE(fs::make_dirs(dir + "/src"));
    ASSERT_TRUE(fs::write_file(dir + "/src/one.txt", "one\n"));
    ASSERT_TRUE(fs::write_file(dir + "/src/two.txt", "two\n"));
    ASSERT_TRUE(fs::write_file(dir + "/Dockerfile", kDockerfile));
  }

  std::string path(const std::string& rel) const { return fs::join(out_.path(), rel); }

  json inspect(const std::string& ref) {
    auto r = slipway({"image", "inspect", ref});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out)[0] : json();
  }

  TempDir ctx_{"slipway-build-ctx"};
  TempDir out_{"slipway-build-out"};
};

TEST_F(BuildOutputsTest, OciLayoutAndArchivesAreReadByPeers) {
  auto r = slipway({"build", "-t", "outputs:1", "--output", "oci:" + path("layout"), "--output",
                    "oci-archive:" + path("image.oci.tar"), "--output",
                    "docker-archive:" + path("image.docker.tar"), ctx_.path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json img = inspect("outputs:1");
  std::string manifest_digest = img["ManifestDigest"];

  auto index = json::parse(*fs::read_file(path("layout/index.json")));
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], manifest_digest);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "outputs:1");

  std::string shared = shared_dir();
  if (shared.empty()) {
    std::cout << "[ INFO ] ../shared is absent: oci-layout-validate not run\n";
  } else if (run_command({"python3", "-c", "import jsonschema, referencing"}).exit_code != 0) {
    std::cout << "[ INFO ] python3 cannot import jsonschema: oci-layout-validate not run\n";
  } else {
    auto valid = run_command({shared + "/tools/oci-layout-validate", path("layout")});
    EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  }

  if (!have("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  auto layout = run_command({"skopeo", "inspect", "oci:" + path("layout") + ":outputs:1"});
  ASSERT_EQ(layout.exit_code, 0) << layout.err;
  auto lj = json::parse(layout.out);
  EXPECT_EQ(lj["Digest"], manifest_digest);
  EXPECT_EQ(lj["Layers"].size(), 2u);
  EXPECT_EQ(lj["Labels"]["org.opencontainers.image.title"], "outputs");
  auto raw = run_command({"skopeo", "inspect", "--raw", "oci:" + path("layout") + ":outputs:1"});
  EXPECT_EQ(raw.out, *fs::read_file(fs::join(root(), "blobs/sha256/" + manifest_digest.substr(7))));

  auto archive =
      run_command({"skopeo", "inspect", "oci-archive:" + path("image.oci.tar") + ":outputs:1"});
  ASSERT_EQ(archive.exit_code, 0) << archive.err;
  EXPECT_EQ(json::parse(archive.out)["Digest"], manifest_digest);

  auto docker =
      run_command({"skopeo", "inspect", "--config", "docker-archive:" + path("image.docker.tar")});
  ASSERT_EQ(docker.exit_code, 0) << docker.err;
  auto dj = json::parse(docker.out);
  EXPECT_EQ(dj["rootfs"]["diff_ids"], img["RootFS"]["Layers"]);
  auto copied = run_command({"skopeo", "copy", "--quiet",
                             "docker-archive:" + path("image.docker.tar"), "dir:" + path("copy")});
  EXPECT_EQ(copied.exit_code, 0) << copied.err;

  // And slipway itself loads the docker-archive back as the same image.
  TempDir other("slipway-build-root2");
  auto load = run_command(
      {slipway_binary(), "--root", other.path(), "image", "load", path("image.docker.tar")});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto back =
      run_command({slipway_binary(), "--root", other.path(), "image", "inspect", "outputs:1"});
  EXPECT_EQ(json::parse(back.out)[0]["Id"], img["Id"]);
}

TEST_F(BuildOutputsTest, SameInputsGiveTheSameDigestsInAnotherRoot) {
  std::vector<std::string> env = {"SOURCE_DATE_EPOCH=1700000000"};
  auto a = run_command({slipway_binary(), "--root", root(), "--run-root", run_root(), "build", "-q",
                        "-t", "repro:1", ctx_.path()},
                       "", env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  json first = inspect("repro:1");
  EXPECT_EQ(first["Created"], "2023-11-14T22:13:20Z");

  // Another root, another copy of the context with other file times, a parallel run root.
  TempDir root2("slipway-build-root2");
  TempDir run2("slipway-build-run2", "/dev/shm");
  TempDir ctx2("slipway-build-ctx2");
  write_context(ctx2.path());
  struct timespec times[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx2.path() + "/src/one.txt").c_str(), times, 0), 0);
  std::vector<std::string> s2 = {slipway_binary(), "--root", root2.path(), "--run-root",
                                 run2.path()};
  // Its default network (for RUN) must not take the first root's subnet: unset, it picks a free one.
  std::vector<std::string> env2 = {"SOURCE_DATE_EPOCH=1700000000", "SLIPWAY_DEFAULT_SUBNET="};
  auto with = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = s2;
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, "", env2);
  };
  ASSERT_EQ(with({"image", "load", busybox_layout()}).exit_code, 0);
  auto b = with({"build", "-q", "--no-cache", "-t", "repro:1", ctx2.path()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  json second = json::parse(with({"image", "inspect", "repro:1"}).out)[0];
  EXPECT_EQ(second["Id"], first["Id"]);
  EXPECT_EQ(second["ManifestDigest"], first["ManifestDigest"]);
  EXPECT_EQ(second["RootFS"], first["RootFS"]);
  EXPECT_EQ(with({"run", "--rm", "repro:1"}).out, "one\ntwo\n");
  EXPECT_EQ(with({"network", "rm", "slipway"}).exit_code, 0);
  EXPECT_EQ(with({"gc"}).exit_code, 0);
  EXPECT_EQ(mounts_containing(root2.path()), std::vector<std::string>{});

  // A different SOURCE_DATE_EPOCH is a different image.
  auto c = run_command({slipway_binary(), "--root", root(), "--run-root", run_root(), "build", "-q",
                        "-t", "repro:2", ctx_.path()},
                       "", {"SOURCE_DATE_EPOCH=1700000001"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(inspect("repro:2")["Id"], first["Id"]);
}

}  // namespace
}  // namespace slipway::testing
