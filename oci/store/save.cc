// ImageStore: writing images out as OCI layouts, and describing them as JSON.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/store/image_store.h"

namespace slipway::oci {

namespace {

constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

// Copies a blob into the layout, re-hashing it so that a damaged store never leaks into a layout.
Status copy_blob(const BlobStore& store, std::string_view digest, int64_t size,
                 const std::string& blobs_dir) {
  std::string dest = fs::join(blobs_dir, digest.substr(kSha256Prefix.size()));
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0 && st.st_size == size) return {};
  UniqueFd src = SLW_TRY(store.open(digest));
  StagedFile staged = SLW_TRY(stage_file(src.get(), blobs_dir, ".tmp"));
  ScopeExit cleanup([&] { ::unlink(staged.path.c_str()); });
  SLW_TRY(with_context(check_blob(digest, size, staged.digest, staged.size), "image store"));
  if (::rename(staged.path.c_str(), dest.c_str()) < 0)
    return fail_errno(fmt::format("rename {} to {}", staged.path, dest));
  cleanup.release();
  return {};
}

}  // namespace

Status ImageStore::save(std::string_view ref, const std::string& dir) const {
  StoreIndex store_index = SLW_TRY(read_index());
  Match m = SLW_TRY(find_image(store_index, ref));
  Image img = SLW_TRY(build_image(*m.image, store_index));
  std::vector<std::string> names =
      m.kind == MatchKind::kName ? std::vector<std::string>{m.name} : img.names;

  std::string what = fmt::format("save {} to {}", ref, dir);
  std::string layout_file = fs::join(dir, "oci-layout");
  std::string index_file = fs::join(dir, "index.json");
  Index index;
  if (fs::exists(dir)) {
    if (!fs::is_dir(dir)) return fail("{}: {} exists and is not a directory", what, dir);
    if (fs::exists(layout_file)) {
      std::string text = SLW_TRY(fs::read_file(index_file));
      index = SLW_TRY(with_context(parse_index(text), fmt::format("{}: {}", what, index_file)));
    } else if (!SLW_TRY(fs::list_dir(dir)).empty()) {
      return fail("{}: {} is neither empty nor an OCI layout", what, dir);
    }
  }
  std::string blobs_dir = fs::join(dir, "blobs/sha256");
  SLW_TRY(with_context(fs::make_dirs(blobs_dir), what));

  std::string manifest_text = SLW_TRY(blobs_.read(img.manifest_digest));
  Manifest manifest = SLW_TRY(parse_manifest(manifest_text));
  for (const auto& l : manifest.layers)
    SLW_TRY(with_context(copy_blob(blobs_, l.digest, l.size, blobs_dir), what));
  SLW_TRY(with_context(copy_blob(blobs_, manifest.config.digest, manifest.config.size, blobs_dir),
                       what));
  SLW_TRY(with_context(
      copy_blob(blobs_, img.manifest_digest, static_cast<int64_t>(manifest_text.size()), blobs_dir),
      what));

  Descriptor d;
  d.media_type =
      manifest.media_type.empty() ? std::string(kMediaTypeOciManifest) : manifest.media_type;
  d.digest = img.manifest_digest;
  d.size = static_cast<int64_t>(manifest_text.size());
  if (!img.platform.os.empty() && !img.platform.architecture.empty()) d.platform = img.platform;
  auto ref_name = [](const Descriptor& x) -> std::string {
    auto it = x.annotations.find(std::string(kAnnotationRefName));
    return it == x.annotations.end() ? "" : it->second;
  };
  if (names.empty()) {
    // Unnamed: one plain entry, unless the layout already lists this manifest.
    bool present = std::any_of(index.manifests.begin(), index.manifests.end(),
                               [&](const Descriptor& x) { return x.digest == d.digest; });
    if (!present) index.manifests.push_back(d);
  }
  for (const auto& name : names) {
    // A name points at one manifest: the new entry replaces an older one of the same name.
    std::erase_if(index.manifests, [&](const Descriptor& x) { return ref_name(x) == name; });
    Descriptor named = d;
    named.annotations[std::string(kAnnotationRefName)] = name;
    index.manifests.push_back(std::move(named));
  }
  index.media_type = std::string(kMediaTypeOciIndex);
  SLW_TRY(with_context(fs::write_file_atomic(layout_file, kLayoutFile), what));
  SLW_TRY(with_context(fs::write_file_atomic(index_file, to_json(index)), what));
  return {};
}

Result<std::string> ImageStore::inspect(const std::vector<std::string>& refs) const try {
  StoreIndex index = SLW_TRY(read_index());
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& ref : refs) {
    Match m = SLW_TRY(find_image(index, ref));
    Image img = SLW_TRY(build_image(*m.image, index));
    std::string config_text = SLW_TRY(blobs_.read(img.id));
    auto config = nlohmann::ordered_json::parse(config_text);
    nlohmann::ordered_json j;
    j["Id"] = img.id;
    j["RepoTags"] = img.names;
    j["ManifestDigest"] = img.manifest_digest;
    j["Created"] = img.created;
    j["Os"] = img.platform.os;
    j["Architecture"] = img.platform.architecture;
    if (!img.platform.variant.empty()) j["Variant"] = img.platform.variant;
    j["Size"] = img.size;
    j["Config"] = config.contains("config") && config["config"].is_object()
                      ? config["config"]
                      : nlohmann::ordered_json::object();
    j["RootFS"] = {{"Type", "layers"}, {"Layers", img.diff_ids}};
    j["ChainIDs"] = img.chain_ids;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (size_t i = 0; i < img.layers.size(); ++i) {
      std::string dir = layer_dir(img.chain_ids[i]);
      layers.push_back({{"Digest", img.layers[i].digest},
                        {"MediaType", img.layers[i].media_type},
                        {"Size", img.layers[i].size},
                        {"DiffID", img.diff_ids[i]},
                        {"UnpackedDir", fs::is_dir(dir) ? nlohmann::ordered_json(dir)
                                                        : nlohmann::ordered_json(nullptr)}});
    }
    j["Layers"] = std::move(layers);
    out.push_back(std::move(j));
  }
  return out.dump(4) + "\n";
} catch (const nlohmann::json::exception& e) {
  return fail("inspect: {}", e.what());
}

}  // namespace slipway::oci
