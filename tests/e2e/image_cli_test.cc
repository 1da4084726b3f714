// The image CLI against real peers: load the busybox layout, list, inspect, save, then skopeo and
// the OCI layout validator accept what slipway wrote; import, rm, stdin archives and bad inputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway {
namespace {

using testing::CommandResult;
using testing::TempDir;

bool have(const std::string& tool) {
  return testing::run_command({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

class ImageCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    layout_ = testing::busybox_layout();
    if (!fs::exists(layout_ + "/index.json")) {
      // Outside ctest the make_test_images fixture has not run: make the image here.
      layout_ = path("busybox");
      auto made =
          testing::run_command({testing::source_dir() + "/scripts/mkimage-busybox", layout_});
      ASSERT_EQ(made.exit_code, 0) << made.err;
    }
  }

  std::string path(const std::string& rel) const { return fs::join(dir_.path(), rel); }

  CommandResult slipway(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> argv = {testing::slipway_binary(), "--root", path("root")};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv, input);
  }

  // A failed command prints exactly one "slipway: error:" line and exits 125.
  void expect_error(const CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_TRUE(r.err.starts_with("slipway: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }

  TempDir dir_{"slipway-image-e2e"};
  std::string layout_;
};

TEST_F(ImageCliTest, LoadListInspectSaveAndPeersAcceptTheLayout) {
  auto load = slipway({"image", "load", layout_});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: busybox:latest\n");

  auto ls = slipway({"image", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_TRUE(ls.out.starts_with("REPOSITORY")) << ls.out;
  EXPECT_NE(ls.out.find("busybox"), std::string::npos) << ls.out;
  EXPECT_EQ(slipway({"images"}).out, ls.out);

  auto inspect = slipway({"image", "inspect", "busybox"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["RepoTags"], nlohmann::json::array({"busybox:latest"}));
  EXPECT_EQ(j[0]["Config"]["Cmd"], nlohmann::json::array({"sh"}));
  std::string id = j[0]["Id"];
  EXPECT_EQ(slipway({"image", "inspect", "-f", "{{.Id}} {{json .Config.Cmd}}", "busybox"}).out,
            id + " [\"sh\"]\n");
  auto bad_format = slipway({"image", "inspect", "-f", "{{.Nope}}", "busybox"});
  EXPECT_EQ(bad_format.exit_code, 125);
  EXPECT_NE(bad_format.err.find("can't evaluate field Nope"), std::string::npos) << bad_format.err;
  EXPECT_NE(ls.out.find(id.substr(7, 12)), std::string::npos) << "ls shows 12 hex of the id";
  auto quiet = slipway({"images", "-q"});
  EXPECT_EQ(quiet.out, id.substr(7, 12) + "\n");

  std::string saved = path("saved");
  auto save = slipway({"image", "save", "busybox", saved});
  ASSERT_EQ(save.exit_code, 0) << save.err;
  auto index = nlohmann::json::parse(*fs::read_file(saved + "/index.json"));
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "busybox:latest");

  if (!have("skopeo")) GTEST_SKIP() << "skopeo is not installed";
  auto copy = testing::run_command(
      {"skopeo", "copy", "--quiet", "oci:" + saved + ":busybox:latest", "dir:" + path("copy")});
  EXPECT_EQ(copy.exit_code, 0) << copy.err;

  std::string shared = testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is absent: no oci-layout-validate";
  if (testing::run_command({"python3", "-c", "import jsonschema"}).exit_code != 0)
    GTEST_SKIP() << "python3 cannot import jsonschema: no oci-layout-validate";
  auto valid = testing::run_command({shared + "/tools/oci-layout-validate", saved});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
  EXPECT_NE(valid.out.find("OK"), std::string::npos) << valid.out;
}

TEST_F(ImageCliTest, LoadsAnArchiveFromStdin) {
  auto tar = testing::run_command({"tar", "-C", layout_, "-cf", "-", "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto load = slipway({"image", "load", "-", "--name", "piped/busybox:v1"}, tar.out);
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: piped/busybox:v1\n");
  EXPECT_EQ(slipway({"image", "inspect", "piped/busybox:v1"}).exit_code, 0);
}

TEST_F(ImageCliTest, ImportThenRemove) {
  ASSERT_TRUE(fs::make_dirs(path("rootfs/etc")));
  ASSERT_TRUE(fs::write_file(path("rootfs/etc/motd"), "hello\n"));
  auto imp = slipway({"image", "import", path("rootfs"), "mine:1"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  ASSERT_TRUE(imp.out.starts_with("sha256:")) << imp.out;
  std::string id = imp.out.substr(0, imp.out.size() - 1);
  auto again = slipway({"image", "import", path("rootfs"), "mine:2"});
  EXPECT_EQ(again.out, imp.out) << "import of an unchanged tree must give the same id";

  EXPECT_EQ(slipway({"image", "rm", "mine:1"}).out, "Untagged: mine:1\n");
  auto rm = slipway({"image", "rm", "mine:2"});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "Untagged: mine:2\nDeleted: " + id + "\n");
  EXPECT_EQ(slipway({"images", "-q"}).out, "");
  EXPECT_EQ(*fs::list_dir(path("root/blobs/sha256")), std::vector<std::string>{});
}

TEST_F(ImageCliTest, TagGivesAnotherNameThatMovesFromItsFormerImage) {
  ASSERT_TRUE(fs::make_dirs(path("a/etc")));
  ASSERT_TRUE(fs::write_file(path("a/etc/motd"), "a\n"));
  ASSERT_TRUE(fs::make_dirs(path("b/etc")));
  ASSERT_TRUE(fs::write_file(path("b/etc/motd"), "b\n"));
  std::string a = slipway({"image", "import", path("a"), "a:1"}).out;
  std::string b = slipway({"image", "import", path("b"), "b:1"}).out;
  auto tag = slipway({"tag", "a:1", "registry.test:5000/team/app:v2"});
  ASSERT_EQ(tag.exit_code, 0) << tag.err;
  EXPECT_EQ(tag.out, "");
  auto inspect = nlohmann::json::parse(slipway({"image", "inspect", "registry.test:5000/team/app:v2"}).out);
  EXPECT_EQ(inspect[0]["Id"].get<std::string>() + "\n", a);
  // `image tag` is the same; the name moves from a to b, and a keeps its own.
  ASSERT_EQ(slipway({"image", "tag", "b:1", "registry.test:5000/team/app:v2"}).exit_code, 0);
  inspect = nlohmann::json::parse(slipway({"image", "inspect", "registry.test:5000/team/app:v2"}).out);
  EXPECT_EQ(inspect[0]["Id"].get<std::string>() + "\n", b);
  EXPECT_EQ(slipway({"image", "inspect", "a:1"}).exit_code, 0);
  expect_error(slipway({"tag", "nope:1", "x:1"}), "no such image: nope:1");
  expect_error(slipway({"tag", "a:1", "Bad:Name"}), "tag Bad:Name");
  expect_error(slipway({"tag", "a:1", "x@sha256:" + std::string(64, 'a')}), "a name cannot pin a digest");
}

TEST_F(ImageCliTest, VersionIsDockersShape) {
  auto v = slipway({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_TRUE(v.out.starts_with("slipway version ")) << v.out;
  EXPECT_NE(v.out.find(", build "), std::string::npos) << v.out;
  EXPECT_EQ(slipway({"-v"}).out, v.out);
}

TEST_F(ImageCliTest, BadInputsGiveOneClearLine) {
  expect_error(slipway({"image", "load", path("missing")}), path("missing"));
  expect_error(slipway({"image", "inspect", "nope"}), "no such image: nope:latest");
  expect_error(slipway({"image", "rm", "nope"}), "no such image: nope:latest");
  expect_error(slipway({"image", "import", path("missing"), "x:1"}), path("missing"));
  expect_error(slipway({"image", "save", "nope", path("out")}), "no such image");

  // A layout whose layer blob was damaged after it was written.
  auto cp = testing::run_command({"cp", "-r", layout_, path("corrupt")});
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  auto index = nlohmann::json::parse(*fs::read_file(path("corrupt/index.json")));
  std::string manifest_digest = index["manifests"][0]["digest"];
  auto manifest = nlohmann::json::parse(
      *fs::read_file(path("corrupt/blobs/sha256/" + manifest_digest.substr(7))));
  std::string layer = manifest["layers"][0]["digest"];
  std::string blob = path("corrupt/blobs/sha256/" + layer.substr(7));
  std::string data = *fs::read_file(blob);
  data[data.size() / 2] ^= 0x01;
  ASSERT_TRUE(fs::write_file(blob, data));
  expect_error(slipway({"image", "load", path("corrupt")}), layer);
  EXPECT_EQ(slipway({"images", "-q"}).out, "");
}

}  // namespace
}  // namespace slipway
