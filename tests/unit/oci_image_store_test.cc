// ImageStore end to end without privileges: load (OCI layout, oci-archive, docker-archive), import,
// resolve, unpack, rm with garbage collection and leases, save, inspect, and bad inputs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/fs.h"
#include "oci/digest.h"
#include "oci/store/image_store.h"
#include "oci/layer/writer.h"
#include "tests/support/test_support.h"

namespace slipway::oci {
namespace {

using ::slipway::testing::TempDir;
using json = nlohmann::json;

std::string hex_of(const std::string& digest) {
  return digest.substr(7);
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ImageStore::open(path("root"));
    ASSERT_TRUE(s) << s.error().message();
    store_.emplace(std::move(*s));
    make_rootfs("rootfs-a", "a");
    make_rootfs("rootfs-b", "b");
  }

  std::string path(const std::string& rel) const { return fs::join(dir_.path(), rel); }
  ImageStore& store() { return *store_; }

  void make_rootfs(const std::string& rel, const std::string& content) {
    ASSERT_TRUE(fs::make_dirs(path(rel + "/bin")));
    ASSERT_TRUE(fs::write_file(path(rel + "/bin/hello"), content, 0755));
    ASSERT_TRUE(fs::write_file(path(rel + "/" + content), content));
  }

  // Writes a blob into a layout and returns its descriptor.
  json put_blob(const std::string& layout, const std::string& data, const std::string& media_type) {
    std::string digest = sha256_digest(data);
    EXPECT_TRUE(fs::make_dirs(layout + "/blobs/sha256"));
    EXPECT_TRUE(fs::write_file(layout + "/blobs/sha256/" + hex_of(digest), data));
    return {{"mediaType", media_type}, {"digest", digest}, {"size", data.size()}};
  }

  // Adds an image with one layer per rootfs to an OCI layout; returns the manifest descriptor.
  json add_image(const std::string& layout, const std::vector<std::string>& rootfs,
                 const std::map<std::string, std::string>& annotations,
                 const std::vector<std::string>& bad_diff_ids = {}) {
    json layers = json::array(), diff_ids = json::array();
    for (size_t i = 0; i < rootfs.size(); ++i) {
      auto w = write_layer(path(rootfs[i]), dir_.path());
      EXPECT_TRUE(w) << w.error().message();
      layers.push_back(
          put_blob(layout, *fs::read_file(w->blob.path), std::string(kMediaTypeOciLayerGzip)));
      ::unlink(w->blob.path.c_str());
      diff_ids.push_back(i < bad_diff_ids.size() ? bad_diff_ids[i] : w->diff_id);
    }
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"created", "2024-05-06T07:08:09Z"},
                   {"config", {{"Cmd", {"/bin/hello"}}, {"Env", {"PATH=/bin"}}, {"User", "1000"}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", kMediaTypeOciManifest},
                     {"config", put_blob(layout, config.dump(), std::string(kMediaTypeOciConfig))},
                     {"layers", layers}};
    json desc = put_blob(layout, manifest.dump(), std::string(kMediaTypeOciManifest));
    if (!annotations.empty()) desc["annotations"] = annotations;
    json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
    if (fs::exists(layout + "/index.json"))
      index = json::parse(*fs::read_file(layout + "/index.json"));
    index["manifests"].push_back(desc);
    EXPECT_TRUE(fs::write_file(layout + "/index.json", index.dump()));
    EXPECT_TRUE(fs::write_file(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    return desc;
  }

  std::string ref_name(const std::string& n) { return std::string(kAnnotationRefName) + n; }

  std::vector<std::string> tmp_entries() { return *fs::list_dir(path("root/tmp")); }

  TempDir dir_{"slipway-store"};
  std::optional<ImageStore> store_;
};

const std::map<std::string, std::string> kAppName = {
    {std::string(kAnnotationRefName), "test/app:1"}};

TEST_F(ImageStoreTest, LoadsAnOciLayoutAndResolvesItEveryWay) {
  json desc = add_image(path("layout"), {"rootfs-a", "rootfs-b"}, kAppName);
  auto loaded = store().load(path("layout"));
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].names, std::vector<std::string>{"test/app:1"});

  auto img = store().resolve("test/app:1");
  ASSERT_TRUE(img) << img.error().message();
  EXPECT_EQ(img->manifest_digest, desc["digest"]);
  EXPECT_EQ(img->config.cmd, std::vector<std::string>{"/bin/hello"});
  EXPECT_EQ(img->config.user, "1000");
  ASSERT_EQ(img->diff_ids.size(), 2u);
  EXPECT_EQ(img->chain_ids, chain_ids(img->diff_ids));
  EXPECT_EQ(img->platform.str(), "linux/amd64");
  EXPECT_GT(img->size, 0);
  for (const std::string& ref : {img->id, img->manifest_digest, hex_of(img->id).substr(0, 12),
                                 "test/app@" + img->manifest_digest})
    EXPECT_EQ(store().resolve(ref)->id, img->id) << ref;
  auto missing = store().resolve("test/app:2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "no such image: test/app:2");
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, UnpacksLayersOnceIntoChainIdDirectories) {
  add_image(path("layout"), {"rootfs-a", "rootfs-b"}, kAppName);
  ASSERT_TRUE(store().load(path("layout")));
  auto img = store().resolve("test/app:1");
  ASSERT_TRUE(img);
  auto dirs = store().unpacked_layers(*img);
  ASSERT_TRUE(dirs) << dirs.error().message();
  ASSERT_EQ(dirs->size(), 2u);
  EXPECT_EQ((*dirs)[0], path("root/layers/" + hex_of(img->chain_ids[0])));
  EXPECT_EQ((*dirs)[1], path("root/layers/" + hex_of(img->chain_ids[1])));
  EXPECT_EQ(*fs::read_file((*dirs)[0] + "/a"), "a");
  EXPECT_EQ(*fs::read_file((*dirs)[1] + "/bin/hello"), "b");
  struct stat before, after;
  ASSERT_EQ(::stat((*dirs)[1].c_str(), &before), 0);
  ASSERT_TRUE(store().unpacked_layers(*img));
  ASSERT_EQ(::stat((*dirs)[1].c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "layer was unpacked again";
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, CorruptBlobInLayoutIsNamed) {
  json desc = add_image(path("layout"), {"rootfs-a"}, kAppName);
  json manifest =
      json::parse(*fs::read_file(path("layout/blobs/sha256/" + hex_of(desc["digest"]))));
  std::string layer = manifest["layers"][0]["digest"];
  std::string blob = path("layout/blobs/sha256/" + hex_of(layer));
  std::string data = *fs::read_file(blob);
  data[data.size() / 2] ^= 0x55;
  ASSERT_TRUE(fs::write_file(blob, data));
  auto r = store().load(path("layout"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(layer), std::string::npos) << r.error().message();
  EXPECT_TRUE(store().list()->empty());
  EXPECT_FALSE(fs::exists(path("root/blobs/sha256/" + hex_of(layer))));
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, DescriptorSizeMismatchIsAnError) {
  json desc = add_image(path("layout"), {"rootfs-a"}, {});
  json index = json::parse(*fs::read_file(path("layout/index.json")));
  index["manifests"][0]["size"] = index["manifests"][0]["size"].get<int>() + 1;
  index["manifests"][0]["annotations"] = kAppName;
  ASSERT_TRUE(fs::write_file(path("layout/index.json"), index.dump()));
  auto r = store().load(path("layout"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(desc["digest"].get<std::string>() + ": size is"),
            std::string::npos)
      << r.error().message();
}

TEST_F(ImageStoreTest, DiffIdMismatchIsAnError) {
  std::string wrong = sha256_digest("not the layer");
  add_image(path("layout"), {"rootfs-a"}, kAppName, {wrong});
  auto r = store().load(path("layout"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(wrong), std::string::npos) << r.error().message();
  EXPECT_TRUE(store().list()->empty());
  // Verified before stored: the failed load left no blob behind.
  EXPECT_EQ(*fs::list_dir(path("root/blobs/sha256")), std::vector<std::string>{});
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, NamesFromBareTagsAndOverrides) {
  // Like scripts/mkimage-busybox: the same manifest under a full name and a bare tag.
  add_image(path("layout"), {"rootfs-a"},
            {{std::string(kAnnotationRefName), "docker.io/library/bb:latest"}});
  json index = json::parse(*fs::read_file(path("layout/index.json")));
  json bare = index["manifests"][0];
  bare["annotations"] = {{kAnnotationRefName, "stable"}};
  index["manifests"].push_back(bare);
  ASSERT_TRUE(fs::write_file(path("layout/index.json"), index.dump()));
  auto r = store().load(path("layout"));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].names, (std::vector<std::string>{"bb:latest", "bb:stable"}));

  auto renamed = store().load(path("layout"), {"mine/bb:v2"});
  ASSERT_TRUE(renamed) << renamed.error().message();
  EXPECT_EQ(store().resolve("mine/bb:v2")->id, store().resolve("bb")->id);

  add_image(path("two"), {"rootfs-a"}, {});
  add_image(path("two"), {"rootfs-b"}, {});
  auto ambiguous = store().load(path("two"), {"x:1"});
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message().find("exactly one image"), std::string::npos);
  auto unnamed = store().load(path("two"));
  ASSERT_TRUE(unnamed) << unnamed.error().message();
  EXPECT_EQ(unnamed->size(), 2u);
  EXPECT_TRUE((*unnamed)[0].names.empty());
}

TEST_F(ImageStoreTest, LoadsOciArchiveTar) {
  add_image(path("layout"), {"rootfs-a"}, kAppName);
  auto tar = testing::run_command({"tar", "-C", path("layout"), "-czf", path("image.tar.gz"), "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  auto r = store().load(path("image.tar.gz"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ((*r)[0].names, std::vector<std::string>{"test/app:1"});
  EXPECT_TRUE(store().unpacked_layers(*store().resolve("test/app:1")));
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, LoadsDockerArchiveWithRepeatedLayer) {
  // docker save: <id>.json config, <layer id>/layer.tar, a repeated layer as a symlink.
  std::string d = path("docker");
  auto w = write_layer(path("rootfs-a"), dir_.path());
  ASSERT_TRUE(w);
  std::string tar_text;
  {
    auto u = testing::run_command({"sh", "-c", "gzip -dc " + w->blob.path});
    tar_text = u.out;
  }
  ::unlink(w->blob.path.c_str());
  ASSERT_TRUE(fs::make_dirs(d + "/l1"));
  ASSERT_TRUE(fs::make_dirs(d + "/l2"));
  ASSERT_TRUE(fs::write_file(d + "/l1/layer.tar", tar_text));
  ASSERT_EQ(::symlink("../l1/layer.tar", (d + "/l2/layer.tar").c_str()), 0);
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"config", {{"Entrypoint", {"/bin/hello"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", {w->diff_id, w->diff_id}}}}};
  std::string config_text = config.dump();
  std::string image_id = sha256_digest(config_text);
  ASSERT_TRUE(fs::write_file(d + "/" + hex_of(image_id) + ".json", config_text));
  json manifest = json::array({{{"Config", hex_of(image_id) + ".json"},
                                {"RepoTags", {"docker.io/library/dock:1", "dock:2"}},
                                {"Layers", {"l1/layer.tar", "l2/layer.tar"}}}});
  ASSERT_TRUE(fs::write_file(d + "/manifest.json", manifest.dump()));
  ASSERT_TRUE(fs::write_file(d + "/repositories", R"({"dock":{"1":"x"}})"));
  auto tar = testing::run_command({"tar", "-C", d, "-cf", path("docker.tar"), "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;

  for (const std::string& source : {path("docker.tar"), d}) {
    auto r = store().load(source);
    ASSERT_TRUE(r) << source << ": " << r.error().message();
    EXPECT_EQ((*r)[0].id, image_id) << "Docker's image id is the config digest";
    EXPECT_EQ((*r)[0].names, (std::vector<std::string>{"dock:1", "dock:2"}));
  }
  auto img = store().resolve("dock:1");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->config.entrypoint, std::vector<std::string>{"/bin/hello"});
  ASSERT_EQ(img->layers.size(), 2u);
  EXPECT_EQ(img->layers[0].media_type, kMediaTypeOciLayer);
  EXPECT_EQ(img->layers[0].digest, w->diff_id);  // an uncompressed layer is its own diff
  auto dirs = store().unpacked_layers(*img);
  ASSERT_TRUE(dirs) << dirs.error().message();
  EXPECT_NE((*dirs)[0], (*dirs)[1]);  // same layer, different chain position
}

TEST_F(ImageStoreTest, BadSourcesSayWhatIsWrong) {
  auto missing = store().load(path("nope"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find(path("nope")), std::string::npos);
  ASSERT_TRUE(fs::make_dirs(path("empty")));
  auto empty = store().load(path("empty"));
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("not an OCI layout or docker-archive"), std::string::npos);
  ASSERT_TRUE(fs::write_file(path("junk.tar"), std::string(5000, 'j')));
  auto junk = store().load(path("junk.tar"));
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message().find("junk.tar"), std::string::npos) << junk.error().message();
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, ImportIsDeterministic) {
  auto a = store().import(path("rootfs-a"), "imported:1");
  ASSERT_TRUE(a) << a.error().message();
  auto again = store().import(path("rootfs-a"), "imported:2");
  ASSERT_TRUE(again);
  EXPECT_EQ(a->id, again->id);
  auto img = store().resolve("imported:2");
  ASSERT_TRUE(img);
  EXPECT_EQ(img->names, (std::vector<std::string>{"imported:1", "imported:2"}));
  EXPECT_EQ(img->platform.os, "linux");
  auto dirs = store().unpacked_layers(*img);
  ASSERT_TRUE(dirs) << dirs.error().message();
  EXPECT_EQ(*fs::read_file((*dirs)[0] + "/bin/hello"), "a");

  auto tar = testing::run_command({"tar", "-C", path("rootfs-b"), "-cf", path("b.tar"), "."});
  ASSERT_EQ(tar.exit_code, 0);
  auto from_tar = store().import(path("b.tar"), "from-tar");
  ASSERT_TRUE(from_tar) << from_tar.error().message();
  auto t = store().resolve("from-tar");
  EXPECT_EQ(t->layers[0].media_type, kMediaTypeOciLayer);
  EXPECT_EQ(t->diff_ids[0], sha256_digest(*fs::read_file(path("b.tar"))));
  EXPECT_FALSE(store().import(path("rootfs-a"), "Bad Name"));

  ASSERT_TRUE(fs::write_file(path("junk.tar"), std::string(4096, 'j')));
  auto blobs_before = *fs::list_dir(path("root/blobs/sha256"));
  auto junk = store().import(path("junk.tar"), "junk");
  ASSERT_FALSE(junk);
  EXPECT_NE(junk.error().message().find("not a tar archive"), std::string::npos)
      << junk.error().message();
  EXPECT_EQ(*fs::list_dir(path("root/blobs/sha256")), blobs_before);
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
}

TEST_F(ImageStoreTest, RemoveUntagsThenDeletesAndCollects) {
  ASSERT_TRUE(store().import(path("rootfs-a"), "a:1"));
  ASSERT_TRUE(store().import(path("rootfs-a"), "a:2"));
  auto img = *store().resolve("a:1");
  auto dirs = *store().unpacked_layers(img);

  auto by_id = store().remove({img.id}, false);
  ASSERT_FALSE(by_id);
  EXPECT_NE(by_id.error().message().find("several names"), std::string::npos);

  auto untag = store().remove({"a:1"}, false);
  ASSERT_TRUE(untag) << untag.error().message();
  ASSERT_EQ(untag->size(), 1u);
  EXPECT_EQ((*untag)[0].kind, RemovalEvent::Kind::kUntagged);
  EXPECT_TRUE(fs::exists(store().layer_dir(img.chain_ids[0])));

  auto del = store().remove({"a:2"}, false);
  ASSERT_TRUE(del);
  ASSERT_EQ(del->size(), 2u);
  EXPECT_EQ((*del)[1].kind, RemovalEvent::Kind::kDeleted);
  EXPECT_EQ((*del)[1].what, img.id);
  EXPECT_TRUE(store().list()->empty());
  EXPECT_EQ(*fs::list_dir(path("root/blobs/sha256")), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(dirs[0]));
  EXPECT_EQ(tmp_entries(), std::vector<std::string>{});
  EXPECT_FALSE(store().remove({"a:2"}, false));
}

TEST_F(ImageStoreTest, LeasedLayersSurviveRemoval) {
  ASSERT_TRUE(store().import(path("rootfs-a"), "a:1"));
  auto img = *store().resolve("a:1");
  auto dirs = *store().unpacked_layers(img);
  {
    auto lease = store().lease_layers(dirs);
    ASSERT_TRUE(lease) << lease.error().message();
    ASSERT_TRUE(store().remove({"a:1"}, false));
    EXPECT_TRUE(fs::is_dir(dirs[0])) << "a leased layer was removed";
  }
  ASSERT_TRUE(store().prune());
  EXPECT_FALSE(fs::exists(dirs[0]));
  EXPECT_FALSE(store().lease_layers(dirs));
}

TEST_F(ImageStoreTest, SaveWritesALayoutThatLoadsBackIdentically) {
  add_image(path("layout"), {"rootfs-a", "rootfs-b"}, kAppName);
  ASSERT_TRUE(store().load(path("layout")));
  ASSERT_TRUE(store().import(path("rootfs-b"), "other:1"));
  auto saved = store().save("test/app:1", path("saved"));
  ASSERT_TRUE(saved) << saved.error().message();
  auto added = store().save("other:1", path("saved"));  // adds to an existing layout
  ASSERT_TRUE(added) << added.error().message();
  json index = json::parse(*fs::read_file(path("saved/index.json")));
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"][kAnnotationRefName], "test/app:1");
  EXPECT_EQ(index["manifests"][1]["annotations"][kAnnotationRefName], "other:1");
  ASSERT_TRUE(store().save("test/app:1", path("saved")));  // same name replaces, not duplicates
  EXPECT_EQ(json::parse(*fs::read_file(path("saved/index.json")))["manifests"].size(), 2u);

  auto second = ImageStore::open(path("root2"));
  ASSERT_TRUE(second);
  auto back = second->load(path("saved"));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(second->resolve("test/app:1")->manifest_digest,
            store().resolve("test/app:1")->manifest_digest);
  EXPECT_EQ(second->resolve("other:1")->id, store().resolve("other:1")->id);

  ASSERT_TRUE(fs::make_dirs(path("notlayout")));
  ASSERT_TRUE(fs::write_file(path("notlayout/file"), "x"));
  auto refused = store().save("other:1", path("notlayout"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("neither empty nor an OCI layout"), std::string::npos);
}

TEST_F(ImageStoreTest, InspectDescribesTheImage) {
  add_image(path("layout"), {"rootfs-a"}, kAppName);
  ASSERT_TRUE(store().load(path("layout")));
  auto text = store().inspect({"test/app:1"});
  ASSERT_TRUE(text) << text.error().message();
  json j = json::parse(*text);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["RepoTags"][0], "test/app:1");
  EXPECT_EQ(j[0]["Config"]["Cmd"][0], "/bin/hello");
  EXPECT_EQ(j[0]["Created"], "2024-05-06T07:08:09Z");
  EXPECT_TRUE(j[0]["Layers"][0]["UnpackedDir"].is_null());
  EXPECT_FALSE(store().inspect({"test/app:1", "nope"}));
}

TEST_F(ImageStoreTest, ParallelWritersKeepEveryImage) {
  std::vector<std::thread> threads;
  std::vector<Status> results(6);
  for (int i = 0; i < 6; ++i) {
    make_rootfs(fmt::format("par{}", i), fmt::format("content{}", i));
    threads.emplace_back([&, i] {
      // Each writer opens its own store, as separate processes would.
      auto s = ImageStore::open(path("root"));
      if (!s) {
        results[i] = std::unexpected(s.error());
        return;
      }
      auto r = s->import(path(fmt::format("par{}", i)), fmt::format("par:{}", i));
      results[i] = r ? Status{} : Status(std::unexpected(r.error()));
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) EXPECT_TRUE(r) << r.error().message();
  EXPECT_EQ(store().list()->size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(store().resolve(fmt::format("par:{}", i)));
}

}  // namespace
}  // namespace slipway::oci
