// push and pull against a real Debian docker-registry on 127.0.0.1 (with and without htpasswd
// basic auth), checked with skopeo: the manifest digest the registry serves, a copy back intact,
// blobs skipped on a second push (counted in the registry's access log), mounts across
// repositories, chunked uploads, images pushed by skopeo, and one-line errors for bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/registry/progress.h"
#include "tests/support/local_registry.h"
#include "tests/support/test_support.h"

namespace slipway {
namespace {

using testing::CommandResult;
using testing::free_port;
using testing::LocalRegistry;
using testing::TempDir;
using json = nlohmann::json;

constexpr const char* kRegistryBinary = LocalRegistry::kBinary;

bool have(const std::string& tool) {
  return testing::run_command({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kRegistryBinary)) GTEST_SKIP() << "docker-registry is not installed";
    if (!have("skopeo")) GTEST_SKIP() << "skopeo is not installed";
    layout_ = testing::busybox_layout();
    if (!fs::exists(layout_ + "/index.json")) {
      // Outside ctest the make_test_images fixture has not run: make the image here.
      layout_ = path("busybox");
      auto made =
          testing::run_command({testing::source_dir() + "/scripts/mkimage-busybox", layout_});
      ASSERT_EQ(made.exit_code, 0) << made.err;
    }
    auto index = json::parse(*fs::read_file(layout_ + "/index.json"));
    manifest_digest_ = index["manifests"][0]["digest"];
    auto manifest = json::parse(*fs::read_file(blob_path(layout_, manifest_digest_)));
    config_digest_ = manifest["config"]["digest"];
    layer_digest_ = manifest["layers"][0]["digest"];
    layer_size_ = manifest["layers"][0]["size"];
    // No credentials of the host's own user may leak into these tests.
    ASSERT_TRUE(fs::make_dirs(path("docker-config")));
    env_ = {"DOCKER_CONFIG=" + path("docker-config")};
  }

  std::string path(const std::string& rel) const { return fs::join(dir_.path(), rel); }
  static std::string blob_path(const std::string& layout, const std::string& digest) {
    return layout + "/blobs/sha256/" + digest.substr(7);
  }

  std::unique_ptr<LocalRegistry> start_registry(const std::string& name,
                                                std::optional<LocalRegistry::User> user = {}) {
    std::string dir = path(name);
    EXPECT_TRUE(fs::make_dirs(dir));
    auto r = std::make_unique<LocalRegistry>(dir, user);
    EXPECT_EQ(r->error(), "");
    return r;
  }

  CommandResult slipway(const std::vector<std::string>& args, const std::string& root = "root") {
    std::vector<std::string> argv = {testing::slipway_binary(), "--root", path(root)};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run_command(argv, "", env_);
  }

  void load_busybox(const std::string& root = "root") {
    auto r = slipway({"image", "load", layout_}, root);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // A failed command ends with exactly one "slipway: error:" line and exits 125; before it, a
  // pull may have printed its progress lines (a layer that "Failed").
  void expect_error(const CommandResult& r, const std::string& needle) {
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_TRUE(testing::last_line(r.err).starts_with("slipway: error: ")) << r.err;
    EXPECT_EQ(testing::count(r.err, "slipway: error: "), 1) << r.err;
    EXPECT_NE(testing::last_line(r.err).find(needle), std::string::npos) << r.err;
  }

  // The sha256 of what `skopeo inspect --raw` gets for ref.
  std::string skopeo_digest(const std::string& ref, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {"skopeo", "inspect", "--raw", "--tls-verify=false"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("docker://" + ref);
    auto r = testing::run_command(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return oci::sha256_digest(r.out);
  }

  // skopeo copies ref to an OCI layout; every blob must be byte for byte the busybox layout's.
  void expect_skopeo_copies_back_intact(const std::string& ref, const std::string& out) {
    auto copy = testing::run_command({"skopeo", "copy", "--quiet", "--src-tls-verify=false",
                                      "docker://" + ref, "oci:" + out + ":copy"});
    ASSERT_EQ(copy.exit_code, 0) << copy.err;
    auto index = json::parse(*fs::read_file(out + "/index.json"));
    EXPECT_EQ(index["manifests"][0]["digest"], manifest_digest_);
    for (const auto& d : {manifest_digest_, config_digest_, layer_digest_})
      EXPECT_EQ(fs::read_file(blob_path(out, d)).value_or("missing"),
                fs::read_file(blob_path(layout_, d)).value_or("?"))
          << d;
  }

  TempDir dir_{"slipway-registry-e2e"};
  std::string layout_, manifest_digest_, config_digest_, layer_digest_;
  int64_t layer_size_ = 0;
  std::vector<std::string> env_;
};

TEST_F(RegistryTest, PushGivesTheSameManifestThatSkopeoReadsAndCopiesBack) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  auto push = slipway({"push", "busybox:latest", reg->ref("bb:1")});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(push.out, reg->ref("bb:1") + "@" + manifest_digest_ + "\n");
  EXPECT_EQ(push.err, "") << "no progress output when stderr is not a terminal";
  EXPECT_EQ(skopeo_digest(reg->ref("bb:1")), manifest_digest_)
      << "the OCI manifest goes up byte for byte";
  expect_skopeo_copies_back_intact(reg->ref("bb:1"), path("copy"));
  EXPECT_EQ(reg->count("HEAD /v2/bb/blobs/"), 2);
  EXPECT_EQ(reg->count("POST /v2/bb/blobs/uploads/ "), 2) << "config and layer";
  EXPECT_EQ(reg->count("PATCH "), 0) << "a 1 MB layer goes up in one PUT";
  EXPECT_EQ(reg->count("PUT /v2/bb/manifests/1 "), 1);
}

TEST_F(RegistryTest, SecondPushOnlyChecksAndOtherRepositoriesMount) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  ASSERT_EQ(slipway({"push", "busybox", reg->ref("bb:1")}).exit_code, 0);
  int heads = reg->count("HEAD /v2/bb/blobs/");
  int uploads = reg->count("POST /v2/bb/blobs/uploads/");

  auto again = slipway({"push", "busybox", reg->ref("bb:2")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, reg->ref("bb:2") + "@" + manifest_digest_ + "\n");
  EXPECT_EQ(reg->count("HEAD /v2/bb/blobs/"), heads + 2);
  EXPECT_EQ(reg->count("POST /v2/bb/blobs/uploads/"), uploads) << "no blob sent again";
  EXPECT_EQ(reg->count("PUT /v2/bb/blobs/"), 2);

  // The root remembers where the blobs went, so a new repository mounts them.
  auto other = slipway({"push", "busybox", reg->ref("team/other:1")});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(reg->count("POST /v2/team/other/blobs/uploads/?mount="), 2);
  EXPECT_EQ(reg->count("POST /v2/team/other/blobs/uploads/ "), 0);
  EXPECT_EQ(reg->count("PUT /v2/team/other/blobs/"), 0);
  EXPECT_EQ(skopeo_digest(reg->ref("team/other:1")), manifest_digest_);
  expect_skopeo_copies_back_intact(reg->ref("team/other:1"), path("copy"));
}

TEST_F(RegistryTest, ChunkedUploadWithASmallChunkSize) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  constexpr int64_t kChunk = 128 * 1024;
  auto push =
      slipway({"push", "busybox", reg->ref("chunked:1"), "--chunk-size", std::to_string(kChunk)});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(reg->count("PATCH /v2/chunked/blobs/uploads/"), (layer_size_ + kChunk - 1) / kChunk)
      << "layer of " << layer_size_ << " bytes; the config is smaller than a chunk";
  EXPECT_EQ(skopeo_digest(reg->ref("chunked:1")), manifest_digest_);
  expect_skopeo_copies_back_intact(reg->ref("chunked:1"), path("copy"));
}

TEST_F(RegistryTest, PullsWhatSkopeoPushed) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  auto sk =
      testing::run_command({"skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                            "oci:" + layout_ + ":busybox:latest", "docker://" + reg->ref("sk:1")});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  std::string digest = skopeo_digest(reg->ref("sk:1"));

  auto pull = slipway({"pull", reg->ref("sk:1")});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, reg->ref("sk:1") + "@" + digest + "\n");
  // Not a terminal: one plain line per layer.
  EXPECT_EQ(pull.err, layer_digest_.substr(7, 12) + ": Pulled " + oci::human_bytes(layer_size_) + "\n");
  auto inspect = slipway({"image", "inspect", reg->ref("sk:1")});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = json::parse(inspect.out);
  EXPECT_EQ(j[0]["Id"], config_digest_);
  EXPECT_EQ(j[0]["RepoTags"], json::array({reg->ref("sk:1")}));
  EXPECT_EQ(fs::read_file(path("root/blobs/sha256/" + layer_digest_.substr(7))).value_or("x"),
            fs::read_file(blob_path(layout_, layer_digest_)).value_or("y"));
  EXPECT_EQ(*fs::list_dir(path("root/tmp")), std::vector<std::string>{}) << "no staging left";

  // A second pull fetches no layer again.
  int layer_gets = reg->count("GET /v2/sk/blobs/" + layer_digest_);
  EXPECT_EQ(layer_gets, 1);
  auto again = slipway({"pull", reg->ref("sk:1")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(reg->count("GET /v2/sk/blobs/" + layer_digest_), layer_gets);

  // By digest alone: the image comes in untagged, as in Docker.
  auto by_digest = slipway({"pull", reg->ref("sk@") + digest}, "root2");
  ASSERT_EQ(by_digest.exit_code, 0) << by_digest.err;
  EXPECT_EQ(by_digest.out, reg->ref("sk@") + digest + "\n");
  auto ids = slipway({"images", "-q", "--no-trunc"}, "root2");
  EXPECT_EQ(ids.out, config_digest_ + "\n");
  expect_error(slipway({"pull", reg->ref("sk@") + oci::sha256_digest("none")}, "root2"),
               "manifest unknown");

  // The pulled image pushes back under a new name unchanged.
  auto push = slipway({"push", reg->ref("sk:1"), reg->ref("sk:2")});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(push.out, reg->ref("sk:2") + "@" + digest + "\n");
}

TEST_F(RegistryTest, PullsDockerV2ManifestsAndPushesThemAsOci) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  auto sk = testing::run_command({"skopeo", "copy", "--quiet", "--format", "v2s2",
                                  "--dest-tls-verify=false", "oci:" + layout_ + ":busybox:latest",
                                  "docker://" + reg->ref("v2:1")});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  auto raw = testing::run_command(
      {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + reg->ref("v2:1")});
  ASSERT_EQ(json::parse(raw.out)["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");

  auto pull = slipway({"pull", reg->ref("v2:1")});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, reg->ref("v2:1") + "@" + oci::sha256_digest(raw.out) + "\n");

  auto push = slipway({"push", reg->ref("v2:1"), reg->ref("oci:1")});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  raw = testing::run_command(
      {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + reg->ref("oci:1")});
  auto m = json::parse(raw.out);
  EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(m["layers"][0]["digest"], layer_digest_);
  expect_skopeo_copies_back_intact(reg->ref("oci:1"), path("copy"));
}

TEST_F(RegistryTest, PullChoosesTheHostPlatformFromAnIndex) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  // A layout whose index lists busybox twice: as linux/arm64 (first) and as linux/amd64.
  std::string multi = path("multi");
  ASSERT_EQ(testing::run_command({"cp", "-r", layout_, multi}).exit_code, 0);
  std::string inner_digest = testing::make_platform_index(multi, {"arm64", "amd64"}, "multi");
  ASSERT_NE(inner_digest, "");
  auto sk = testing::run_command({"skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false",
                                  "oci:" + multi + ":multi", "docker://" + reg->ref("multi:1")});
  ASSERT_EQ(sk.exit_code, 0) << sk.err;
  ASSERT_EQ(skopeo_digest(reg->ref("multi:1")), inner_digest);

  auto pull = slipway({"pull", reg->ref("multi:1")});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, reg->ref("multi:1") + "@" + manifest_digest_ + "\n");
  EXPECT_EQ(reg->count("GET /v2/multi/manifests/" + manifest_digest_), 1);
}

TEST_F(RegistryTest, BasicAuthWithCredsFlagAndDockerConfig) {
  if (!have("htpasswd")) GTEST_SKIP() << "htpasswd (apache2-utils) is not installed";
  auto reg = start_registry("reg", LocalRegistry::User{"ci", "s3cret"});
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  // Passwords come from files (or `login`), never from a command line.
  ASSERT_TRUE(fs::write_file(path("good-creds"), "ci:s3cret\n"));
  ASSERT_TRUE(fs::write_file(path("bad-creds"), "ci:wrong\n"));
  auto push = slipway({"push", "busybox", reg->ref("private:1"), "--creds-file", path("good-creds")});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_EQ(push.out, reg->ref("private:1") + "@" + manifest_digest_ + "\n");
  EXPECT_EQ(skopeo_digest(reg->ref("private:1"), {"--creds", "ci:s3cret"}), manifest_digest_);

  expect_error(
      slipway({"push", "busybox", reg->ref("private:2"), "--creds-file", path("bad-creds")}),
      "push to " + reg->ref("private:2") + ": unauthorized: authentication required (as user ci)");
  expect_error(slipway({"push", "busybox", reg->ref("private:2")}),
               "unauthorized: authentication required (no credentials for " + reg->host());
  expect_error(slipway({"pull", reg->ref("private:1"), "--creds-file", path("bad-creds")}, "root2"),
               "pull " + reg->ref("private:1") + ": unauthorized");
  EXPECT_EQ(reg->count("PUT /v2/private/manifests/2"), 0);

  // `docker login` leaves the credentials in config.json; pull finds them there.
  ASSERT_TRUE(fs::write_file(
      path("docker-config/config.json"),
      fmt::format(R"({{"auths":{{"{}":{{"auth":"{}"}}}}}})", reg->host(), "Y2k6czNjcmV0")));
  auto pull = slipway({"pull", reg->ref("private:1")}, "root2");
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(pull.out, reg->ref("private:1") + "@" + manifest_digest_ + "\n");
}

TEST_F(RegistryTest, LoginStoresCredentialsThatPushAndPullUseAndLogoutRemovesThem) {
  if (!have("htpasswd")) GTEST_SKIP() << "htpasswd (apache2-utils) is not installed";
  auto reg = start_registry("reg", LocalRegistry::User{"ci", "s3cret"});
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  auto login = [&](const std::string& password) {
    std::vector<std::string> argv = {testing::slipway_binary(), "--root", path("root"), "login", "-u", "ci",
                                     "--password-stdin", reg->host()};
    return testing::run_command(argv, password + "\n", env_);
  };
  auto wrong = login("wrong");
  expect_error(wrong, "login to " + reg->host() + ": unauthorized");
  EXPECT_FALSE(fs::exists(path("docker-config/config.json"))) << "a refused login stores nothing";

  auto ok = login("s3cret");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "Login Succeeded\n");
  std::string config_path = path("docker-config/config.json");
  struct stat st {};
  ASSERT_EQ(::stat(config_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto config = json::parse(*fs::read_file(config_path));
  EXPECT_EQ(config["auths"][reg->host()]["auth"], "Y2k6czNjcmV0");  // base64("ci:s3cret")

  auto push = slipway({"push", "busybox", reg->ref("private:1")});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  auto logout = slipway({"logout", reg->host()});
  EXPECT_EQ(logout.out, "Removing login credentials for " + reg->host() + "\n");
  EXPECT_EQ(slipway({"logout", reg->host()}).out, "Not logged in to " + reg->host() + "\n");
  expect_error(slipway({"pull", reg->ref("private:1")}, "root2"), "unauthorized");
}

TEST_F(RegistryTest, CredentialHelpersKeepTheSecretOutOfConfigAndCommandLines) {
  if (!have("htpasswd")) GTEST_SKIP() << "htpasswd (apache2-utils) is not installed";
  auto reg = start_registry("reg", LocalRegistry::User{"ci", "s3cret"});
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  // A stub docker-credential-test: keeps one JSON entry in a file and logs its arguments.
  std::string bin = path("bin");
  ASSERT_TRUE(fs::make_dirs(bin));
  std::string store = path("helper-store.json"), log = path("helper-args.log");
  ASSERT_TRUE(fs::write_file(bin + "/docker-credential-test",
                             "#!/bin/sh\n"
                             "echo \"$@\" >> " + log + "\n"
                             "case $1 in\n"
                             "  store) cat > " + store + " ;;\n"
                             "  get) read url; if [ -s " + store + " ] && grep -q \"\\\"$url\\\"\" " + store +
                                 "; then sed 's/\"ServerURL\":\"[^\"]*\",//' " + store +
                                 "; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n"
                             "  erase) read url; rm -f " + store + " ;;\n"
                             "esac\n"));
  ASSERT_EQ(::chmod((bin + "/docker-credential-test").c_str(), 0755), 0);
  env_.push_back("PATH=" + bin + ":" + std::getenv("PATH"));
  ASSERT_TRUE(fs::write_file(path("docker-config/config.json"), R"({"credsStore": "test"})"));

  std::vector<std::string> argv = {testing::slipway_binary(), "--root", path("root"), "login", "-u", "ci",
                                   "--password-stdin", reg->host()};
  auto login = testing::run_command(argv, "s3cret\n", env_);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  std::string config = *fs::read_file(path("docker-config/config.json"));
  EXPECT_EQ(config.find("s3cret"), std::string::npos) << config;
  EXPECT_EQ(config.find("Y2k6czNjcmV0"), std::string::npos) << config;
  EXPECT_NE(fs::read_file(store).value_or("").find("s3cret"), std::string::npos);

  auto pull = slipway({"push", "busybox", reg->ref("private:1")});
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  EXPECT_EQ(slipway({"logout", reg->host()}).out, "Removing login credentials for " + reg->host() + "\n");
  EXPECT_FALSE(fs::exists(store));
  // The helper only ever saw its action on the command line; the registry never logged the secret.
  EXPECT_EQ(fs::read_file(log).value_or(""), "store\nget\nget\nerase\n");
  EXPECT_EQ(fs::read_file(reg->log_path()).value_or("").find("s3cret"), std::string::npos);
}

TEST_F(RegistryTest, BadInputGivesOneClearLine) {
  load_busybox();
  // Nothing listens on this port any more.
  int dead_port = free_port();
  std::string dead = fmt::format("127.0.0.1:{}/app", dead_port);
  expect_error(slipway({"push", "busybox", dead}),
               "push to " + dead + ": connect: Connection refused");
  expect_error(slipway({"pull", dead}), "pull " + dead + ": connect: Connection refused");

  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  expect_error(slipway({"pull", reg->ref("bb:nope")}),
               "pull " + reg->ref("bb:nope") + ": manifest nope: manifest unknown");
  expect_error(slipway({"push", "nosuch:1", reg->ref("bb:1")}), "no such image: nosuch:1");
  expect_error(slipway({"push", "busybox", reg->ref("bb@") + manifest_digest_}),
               "the destination names a digest");
  expect_error(slipway({"push", "busybox", reg->host() + "/Upper:1"}), "lowercase");
  ASSERT_TRUE(fs::write_file(path("nocolon"), "secret-without-user\n"));
  auto bad_creds = slipway({"push", "busybox", reg->ref("bb:1"), "--creds-file", path("nocolon")});
  expect_error(bad_creds, "--creds-file " + path("nocolon") + ": the first line must be USER:PASSWORD");
  EXPECT_EQ(bad_creds.err.find("secret-without-user"), std::string::npos) << "a refused file is never quoted";
  expect_error(slipway({"push", "busybox", reg->ref("bb:1"), "--creds", "ci:pw"}), "--creds");
  EXPECT_EQ(reg->count("PUT "), 0);
}

TEST_F(RegistryTest, CorruptBlobFromTheRegistryNamesItAndLeavesNothing) {
  auto reg = start_registry("reg");
  ASSERT_EQ(reg->error(), "");
  load_busybox();
  ASSERT_EQ(slipway({"push", "busybox", reg->ref("bb:1")}).exit_code, 0);
  std::string data_path = reg->blob_data(layer_digest_);
  std::string data = fs::read_file(data_path).value_or("");
  ASSERT_EQ(static_cast<int64_t>(data.size()), layer_size_);
  data[data.size() / 2] ^= 0x01;
  ASSERT_TRUE(fs::write_file(data_path, data));

  auto pull = slipway({"pull", reg->ref("bb:1")}, "fresh");
  expect_error(pull, "pull " + reg->ref("bb:1") + ": blob " + layer_digest_ +
                         ": content does not match its digest");
  EXPECT_EQ(*fs::list_dir(path("fresh/blobs/sha256")), std::vector<std::string>{})
      << "nothing of the pull stays in the store";
  EXPECT_EQ(*fs::list_dir(path("fresh/tmp")), std::vector<std::string>{});
  EXPECT_EQ(slipway({"images", "-q"}, "fresh").out, "");

  // A truncated blob is named the same way.
  ASSERT_TRUE(fs::write_file(data_path, data.substr(0, 1000)));
  expect_error(slipway({"pull", reg->ref("bb:1")}, "fresh"),
               "blob " + layer_digest_ + ": size is 1000 bytes but its descriptor says " +
                   std::to_string(layer_size_));
  EXPECT_EQ(*fs::list_dir(path("fresh/tmp")), std::vector<std::string>{});

  // So is one that goes on past its size: it is cut off there, not read to the end.
  data[data.size() / 2] ^= 0x01;
  ASSERT_TRUE(fs::write_file(data_path, data + std::string(1 << 20, 'x')));
  expect_error(slipway({"pull", reg->ref("bb:1")}, "fresh"),
               "blob " + layer_digest_ + ": the registry sent more than the " +
                   std::to_string(layer_size_) + " bytes its descriptor says");
  EXPECT_EQ(*fs::list_dir(path("fresh/tmp")), std::vector<std::string>{});
  EXPECT_EQ(*fs::list_dir(path("fresh/blobs/sha256")), std::vector<std::string>{});

  // Repaired, the same root pulls it.
  ASSERT_TRUE(fs::write_file(data_path, data));
  auto ok = slipway({"pull", reg->ref("bb:1")}, "fresh");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace slipway
