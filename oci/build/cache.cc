#include "oci/build/cache.h"

#include "base/byte_json.h"
#include "base/fs.h"
#include "oci/digest.h"

namespace slipway::oci {

std::string cache_key(std::string_view parent, const nlohmann::json& step) {
  nlohmann::json j = {{"v", kBuildCacheVersion}, {"parent", parent}, {"step", step}};
  return sha256_digest(dump_byte_safe(j));
}

std::string BuildCache::path(std::string_view key) const {
  std::string_view hex = key.substr(key.find(':') + 1);
  return fs::join(dir_, fmt::format("{}.json", hex));
}

std::optional<CacheEntry> BuildCache::lookup(std::string_view key, const BlobStore& blobs) const {
  if (!is_sha256_digest(key)) return std::nullopt;
  auto text = fs::read_file(path(key));
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.value("v", 0) != kBuildCacheVersion || j.value("key", "") != key) return std::nullopt;
    CacheEntry entry;
    if (j.contains("layer") && j["layer"].is_object()) {
      const auto& l = j["layer"];
      CachedLayer layer;
      layer.blob.media_type = l.at("mediaType").get<std::string>();
      layer.blob.digest = l.at("digest").get<std::string>();
      layer.blob.size = l.at("size").get<int64_t>();
      layer.diff_id = l.at("diffID").get<std::string>();
      layer.tar_size = l.at("tarSize").get<int64_t>();
      if (!is_sha256_digest(layer.blob.digest) || !is_sha256_digest(layer.diff_id))
        return std::nullopt;
      auto size = blobs.size_of(layer.blob.digest);
      if (!size || *size != layer.blob.size) return std::nullopt;
      entry.layer = std::move(layer);
    }
    return entry;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Status BuildCache::store(std::string_view key, const CacheEntry& entry) const {
  SLW_TRY(fs::make_dirs(dir_, 0700));
  nlohmann::json j = {{"v", kBuildCacheVersion}, {"key", key}, {"layer", nullptr}};
  if (entry.layer) {
    const CachedLayer& l = *entry.layer;
    j["layer"] = {{"mediaType", l.blob.media_type},
                  {"digest", l.blob.digest},
                  {"size", l.blob.size},
                  {"diffID", l.diff_id},
                  {"tarSize", l.tar_size}};
  }
  std::string text = dump_byte_safe(j);
  // A rebuild with --no-cache mostly makes what the entry says already: leave the file alone.
  if (auto old = fs::read_file(path(key)); old && *old == text) return {};
  // Not fsynced: a lost entry is a cache miss, and one pointing at a lost blob reads as one.
  return fs::write_file_atomic(path(key), text, 0600, /*durable=*/false);
}

}  // namespace slipway::oci
