#include "oci/store/loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "oci/digest.h"
#include "oci/layer/unpacker.h"
#include "oci/reference.h"

namespace slipway::oci {

namespace {

constexpr int kMaxIndexDepth = 4;

std::string blob_rel(std::string_view digest) {
  return "blobs/sha256/" + std::string(digest.substr(kSha256Prefix.size()));
}

// A ref.name that names a repository, not just a tag.
bool is_full_reference(std::string_view s) {
  return s.find_first_of(":/@") != std::string_view::npos;
}

Result<std::string> read_magic(const std::string& path) {
  UniqueFd fd = SLW_TRY(fs::open_file(path, O_RDONLY));
  char buf[6] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return fail_errno(fmt::format("read {}", path));
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

IndexNames names_from_index(const Index& index) {
  IndexNames out;
  std::map<std::string, std::vector<std::string>> bare_tags;
  auto add = [&](const std::string& digest, const std::string& name) {
    auto& v = out.by_manifest[digest];
    if (std::find(v.begin(), v.end(), name) == v.end()) v.push_back(name);
  };
  for (const auto& d : index.manifests) {
    out.by_manifest.try_emplace(d.digest);
    std::string full, tag;
    if (auto it = d.annotations.find(std::string(kAnnotationContainerdName));
        it != d.annotations.end())
      full = it->second;
    if (auto it = d.annotations.find(std::string(kAnnotationRefName)); it != d.annotations.end()) {
      if (is_full_reference(it->second)) {
        if (full.empty()) full = it->second;
      } else {
        tag = it->second;
      }
    }
    if (!full.empty()) {
      auto ref = parse_reference(full);
      if (ref && ref->digest.empty()) {
        add(d.digest, ref->name_tag());
      } else {
        out.warnings.push_back(fmt::format("ignoring image name '{}' of {}: {}", full, d.digest,
                                           ref ? "it pins a digest" : ref.error().message()));
      }
    } else if (!tag.empty()) {
      bare_tags[d.digest].push_back(tag);
    }
  }
  for (const auto& [digest, tags] : bare_tags) {
    std::vector<std::string> repos;
    for (const auto& n : out.by_manifest[digest]) repos.push_back(n.substr(0, n.rfind(':')));
    for (const auto& tag : tags) {
      if (repos.empty()) {
        out.warnings.push_back(fmt::format(
            "image {} is tagged '{}' without a repository name; load it with --name NAME:TAG",
            digest, tag));
        continue;
      }
      if (!is_valid_tag(tag)) {
        out.warnings.push_back(fmt::format("ignoring bad tag '{}' of {}", tag, digest));
        continue;
      }
      for (const auto& repo : repos) add(digest, repo + ":" + tag);
    }
  }
  for (auto& [digest, names] : out.by_manifest) std::sort(names.begin(), names.end());
  return out;
}

Result<std::string> layer_media_type_for(std::string_view magic, std::string_view what) {
  if (magic.starts_with("\x1f\x8b")) return std::string(kMediaTypeOciLayerGzip);
  if (magic.starts_with("\x28\xb5\x2f\xfd")) return std::string(kMediaTypeOciLayerZstd);
  if (magic.starts_with(std::string_view("\xfd"
                                         "7zXZ\0",
                                         6)))
    return fail("layer {} is xz-compressed, which an OCI manifest cannot describe", what);
  if (magic.starts_with("BZh"))
    return fail("layer {} is bzip2-compressed, which an OCI manifest cannot describe", what);
  return std::string(kMediaTypeOciLayer);
}

Result<std::vector<ImageLoader::Candidate>> ImageLoader::plan(const ImageSource& source,
                                                              const LoadOptions& options) {
  std::vector<Candidate> candidates;
  if (source.exists("index.json")) {
    candidates = SLW_TRY(oci_candidates(source, /*warn=*/options.name.empty()));
  } else if (source.exists("manifest.json")) {
    candidates = SLW_TRY(docker_candidates(source));
  } else if (source.exists("repositories")) {
    return fail("{}: docker-archive without manifest.json (Docker before 1.10) is not supported",
                source.location());
  } else {
    return fail("{}: not an OCI layout or docker-archive (no index.json or manifest.json)",
                source.location());
  }
  if (candidates.empty()) return fail("{}: holds no images", source.location());
  if (!options.name.empty()) {
    if (candidates.size() != 1)
      return fail("--name needs a source with exactly one image; {} has {}", source.location(),
                  candidates.size());
    Reference ref = SLW_TRY(parse_reference(options.name));
    if (!ref.digest.empty()) return fail("--name {}: a name cannot pin a digest", options.name);
    candidates[0].names = {ref.name_tag()};
  }
  return candidates;
}

Result<IngestedImage> ImageLoader::ingest(const ImageSource& source, const Candidate& c) {
  return c.docker ? ingest_docker(source, c) : ingest_oci(source, c);
}

Result<std::vector<ImageLoader::Candidate>> ImageLoader::oci_candidates(const ImageSource& source,
                                                                        bool warn) {
  std::string text = SLW_TRY(read_source_file(source, "index.json"));
  Index index = SLW_TRY(with_context(parse_index(text), source.location() + "/index.json"));
  IndexNames names = names_from_index(index);
  if (warn)
    for (const auto& w : names.warnings) log::warn("{}: {}", source.location(), w);
  std::vector<Candidate> out;
  for (const auto& d : index.manifests) {
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const Candidate& c) { return c.manifest.digest == d.digest; });
    if (seen) continue;
    Candidate c;
    c.manifest = d;
    c.names = names.by_manifest[d.digest];
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<ImageLoader::Candidate>> ImageLoader::docker_candidates(
    const ImageSource& source) try {
  std::string text = SLW_TRY(read_source_file(source, "manifest.json"));
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return fail("{}/manifest.json: not a JSON array", source.location());
  std::vector<Candidate> out;
  for (const auto& entry : doc) {
    Candidate c;
    c.docker = true;
    if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string())
      return fail("{}/manifest.json: an entry has no Config", source.location());
    c.config_path = entry["Config"].get<std::string>();
    for (const auto& l : entry.value("Layers", nlohmann::json::array())) {
      if (!l.is_string())
        return fail("{}/manifest.json: Layers must be strings", source.location());
      c.layer_paths.push_back(l.get<std::string>());
    }
    auto tags = entry.find("RepoTags");
    if (tags != entry.end() && tags->is_array()) {
      for (const auto& t : *tags) {
        if (!t.is_string()) continue;
        auto ref = parse_reference(t.get<std::string>());
        if (ref && ref->digest.empty())
          c.names.push_back(ref->name_tag());
        else
          log::warn("{}: ignoring RepoTag '{}'", source.location(), t.get<std::string>());
      }
    }
    out.push_back(std::move(c));
  }
  return out;
} catch (const nlohmann::json::exception& e) {
  return fail("{}/manifest.json: {}", source.location(), e.what());
}

Result<std::string> ImageLoader::ingest_json(const ImageSource& source, const Descriptor& d) {
  if (d.size > kMaxJsonBlobSize)
    return fail("blob {} is {} bytes, too large for a manifest or config", d.digest, d.size);
  std::string text = SLW_TRY(read_source_file(source, blob_rel(d.digest)));
  SLW_TRY(check_blob(d.digest, d.size, sha256_digest(text), static_cast<int64_t>(text.size())));
  return text;
}

Result<LayerRecord> ImageLoader::check_layer_file(const std::string& path,
                                                  const std::string& blob_digest,
                                                  std::string_view diff_id) {
  auto known = known_layers_.find(blob_digest);
  if (known == known_layers_.end()) {
    UniqueFd fd = SLW_TRY(fs::open_file(path, O_RDONLY));
    UnpackStats stats =
        SLW_TRY(with_context(scan_layer(fd.get()), fmt::format("layer {}", blob_digest)));
    known =
        known_layers_
            .emplace(blob_digest, LayerRecord{stats.diff_id, static_cast<int64_t>(stats.tar_size)})
            .first;
  }
  if (known->second.diff_id != diff_id)
    return fail("layer {}: uncompressed content is {} but the image config says {}", blob_digest,
                known->second.diff_id, diff_id);
  return known->second;
}

Result<LayerRecord> ImageLoader::verify_layer(std::string_view blob_digest,
                                              std::string_view diff_id) {
  return check_layer_file(store_.path(blob_digest), std::string(blob_digest), diff_id);
}

Result<Descriptor> ImageLoader::ingest_layer(const ImageSource& source, const std::string& rel,
                                             const Descriptor* expected, std::string_view diff_id,
                                             LayerRecord& record) {
  if (expected && store_.contains(expected->digest)) {
    int64_t have = SLW_TRY(store_.size_of(expected->digest));
    if (have != expected->size)
      return fail("blob {}: size is {} bytes but its descriptor says {}", expected->digest, have,
                  expected->size);
    record = SLW_TRY(verify_layer(expected->digest, diff_id));
    return *expected;
  }
  const StagedFile* staged = source.staged(rel);
  StagedFile own;
  ScopeExit cleanup([&] {
    if (!own.path.empty()) ::unlink(own.path.c_str());
  });
  if (!staged) {
    if (expected && !expected->urls.empty() && !source.exists(rel))
      return fail("layer {} is a foreign layer kept at {}; slipway loads images offline only",
                  expected->digest, expected->urls.front());
    UniqueFd fd = SLW_TRY(source.open(rel));
    auto declared = expected ? std::optional<int64_t>(expected->size) : std::nullopt;
    own = SLW_TRY_CTX(stage_file(fd.get(), store_.tmp_dir(), "blob", declared), "{}", rel);
    staged = &own;
  }
  Descriptor d;
  if (expected) {
    SLW_TRY(check_blob(expected->digest, expected->size, staged->digest, staged->size));
    d = *expected;
  } else {
    d.digest = staged->digest;
    d.size = staged->size;
    d.media_type = SLW_TRY(layer_media_type_for(SLW_TRY(read_magic(staged->path)), rel));
  }
  // Read once before it enters the store: a layer that is not the tar its config names never does.
  record = SLW_TRY(check_layer_file(staged->path, d.digest, diff_id));
  SLW_TRY(store_.adopt(*staged, d.digest, d.size, /*keep_source=*/staged != &own));
  return d;
}

Result<IngestedImage> ImageLoader::ingest_oci(const ImageSource& source, const Candidate& c) {
  Descriptor d = c.manifest;
  std::string text = SLW_TRY(ingest_json(source, d));
  for (int depth = 0;; ++depth) {
    DocumentKind kind = SLW_TRY(with_context(detect_document(text, d.media_type), d.digest));
    if (kind == DocumentKind::kManifest) break;
    if (depth == kMaxIndexDepth)
      return fail("{}: image indexes nested too deeply", c.manifest.digest);
    Index inner = SLW_TRY(with_context(parse_index(text), d.digest));
    d = SLW_TRY(with_context(select_manifest(inner, host_platform()), d.digest));
    text = SLW_TRY(ingest_json(source, d));
  }
  Manifest manifest = SLW_TRY(with_context(parse_manifest(text), d.digest));
  if (!manifest.config.media_type.empty() && !is_config_media_type(manifest.config.media_type))
    return fail("{} is not a container image (config media type {})", d.digest,
                manifest.config.media_type);
  for (const auto& l : manifest.layers)
    if (!is_layer_media_type(l.media_type))
      return fail("{}: layer {} has unsupported media type '{}'", d.digest, l.digest, l.media_type);
  std::string config_text = SLW_TRY(ingest_json(source, manifest.config));
  ConfigFile config = SLW_TRY(with_context(parse_config(config_text), manifest.config.digest));
  if (manifest.layers.size() != config.diff_ids.size())
    return fail("{}: manifest has {} layers but its config lists {} diff_ids", d.digest,
                manifest.layers.size(), config.diff_ids.size());
  IngestedImage out;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    const Descriptor& l = manifest.layers[i];
    SLW_TRY(ingest_layer(source, blob_rel(l.digest), &l, config.diff_ids[i], out.layers[l.digest]));
  }
  SLW_TRY(store_.put(config_text));
  SLW_TRY(store_.put(text));
  out.record = {manifest.config.digest, d.digest, c.names};
  return out;
}

Result<IngestedImage> ImageLoader::ingest_docker(const ImageSource& source, const Candidate& c) {
  std::string config_text = SLW_TRY(read_source_file(source, c.config_path));
  ConfigFile config = SLW_TRY(with_context(parse_config(config_text), c.config_path));
  if (c.layer_paths.size() != config.diff_ids.size())
    return fail("{}: manifest.json lists {} layers but the config lists {} diff_ids", c.config_path,
                c.layer_paths.size(), config.diff_ids.size());
  IngestedImage out;
  Manifest manifest;
  manifest.media_type = std::string(kMediaTypeOciManifest);
  for (size_t i = 0; i < c.layer_paths.size(); ++i) {
    LayerRecord record;
    Descriptor l =
        SLW_TRY(ingest_layer(source, c.layer_paths[i], nullptr, config.diff_ids[i], record));
    out.layers[l.digest] = record;
    manifest.layers.push_back(std::move(l));
  }
  manifest.config.media_type = std::string(kMediaTypeOciConfig);
  manifest.config.digest = SLW_TRY(store_.put(config_text));
  manifest.config.size = static_cast<int64_t>(config_text.size());
  std::string digest = SLW_TRY(store_.put(to_json(manifest)));
  out.record = {manifest.config.digest, digest, c.names};
  return out;
}

}  // namespace slipway::oci
