#include "oci/store/index.h"

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "oci/digest.h"
#include "oci/reference.h"

namespace slipway::oci {

namespace {

using json = nlohmann::json;
constexpr int kIndexVersion = 1;

Result<std::string> string_field(const json& obj, const char* key, std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return fail("{}: missing string '{}'", what, key);
  return it->get<std::string>();
}

}  // namespace

Result<StoreIndex> parse_store_index(std::string_view text) try {
  constexpr std::string_view what = "images.json";
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("images.json: not a JSON object");
  if (doc.value("version", 0) != kIndexVersion)
    return fail("images.json: unsupported version {}", doc.value("version", 0));
  StoreIndex index;
  const json images = doc.value("images", json::array());
  const json layers = doc.value("layers", json::object());
  if (!images.is_array() || !layers.is_object())
    return fail("images.json: 'images' must be an array and 'layers' an object");
  for (const auto& img : images) {
    if (!img.is_object()) return fail("images.json: image entries must be objects");
    ImageRecord r;
    r.id = SLW_TRY(string_field(img, "id", what));
    r.manifest_digest = SLW_TRY(string_field(img, "manifest", what));
    if (!is_sha256_digest(r.id) || !is_sha256_digest(r.manifest_digest))
      return fail("images.json: bad digest in the entry for {}", r.id);
    const json names = img.value("names", json::array());
    for (const auto& n : names)
      if (n.is_string()) r.names.push_back(n.get<std::string>());
    index.images.push_back(std::move(r));
  }
  for (const auto& [digest, layer] : layers.items()) {
    if (!is_sha256_digest(digest) || !layer.is_object())
      return fail("images.json: bad layer entry '{}'", digest);
    LayerRecord l;
    l.diff_id = SLW_TRY(string_field(layer, "diff_id", what));
    l.size = layer.value("size", int64_t{0});
    index.layers[digest] = std::move(l);
  }
  std::sort(index.images.begin(), index.images.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return index;
} catch (const json::exception& e) {
  return fail("images.json: {}", e.what());
}

std::string to_json(const StoreIndex& index) {
  nlohmann::ordered_json doc;
  doc["version"] = kIndexVersion;
  doc["images"] = nlohmann::ordered_json::array();
  for (const auto& r : index.images) {
    nlohmann::ordered_json img;
    img["id"] = r.id;
    img["manifest"] = r.manifest_digest;
    img["names"] = r.names;
    doc["images"].push_back(std::move(img));
  }
  doc["layers"] = nlohmann::ordered_json::object();
  for (const auto& [digest, l] : index.layers)
    doc["layers"][digest] = {{"diff_id", l.diff_id}, {"size", l.size}};
  return doc.dump(1) + "\n";
}

// ENOENT, so that a caller may pull what is missing without pulling on every other failure.
std::unexpected<Error> no_such_image(std::string_view ref) {
  return std::unexpected(Error(ENOENT, fmt::format("no such image: {}", ref)));
}

Result<Match> find_image(const StoreIndex& index, std::string_view ref) {
  if (ref.empty()) return fail("empty image reference");
  // A full digest: the image id or the manifest digest.
  if (is_sha256_digest(ref)) {
    for (const auto& r : index.images)
      if (r.id == ref || r.manifest_digest == ref) return Match{&r, MatchKind::kDigest, {}};
    return no_such_image(ref);
  }
  auto parsed = parse_reference(ref);
  if (parsed && !parsed->digest.empty()) {
    for (const auto& r : index.images) {
      if (r.id != parsed->digest && r.manifest_digest != parsed->digest) continue;
      bool named = std::any_of(r.names.begin(), r.names.end(), [&](const std::string& n) {
        return n.starts_with(parsed->name + ":");
      });
      if (named || r.names.empty()) return Match{&r, MatchKind::kDigest, {}};
    }
    return no_such_image(ref);
  }
  if (parsed) {
    std::string want = parsed->name_tag();
    for (const auto& r : index.images)
      if (std::find(r.names.begin(), r.names.end(), want) != r.names.end())
        return Match{&r, MatchKind::kName, want};
  }
  std::string_view hex = ref;
  if (hex.starts_with(kSha256Prefix)) hex.remove_prefix(kSha256Prefix.size());
  if (is_hex(hex)) {
    const ImageRecord* found = nullptr;
    for (const auto& r : index.images) {
      if (!std::string_view(r.id).substr(kSha256Prefix.size()).starts_with(hex)) continue;
      if (found) return fail("image id prefix '{}' is ambiguous: use more digits", ref);
      found = &r;
    }
    if (found) return Match{found, MatchKind::kIdPrefix, {}};
  }
  if (!parsed && !is_hex(hex)) return std::unexpected(parsed.error());
  return no_such_image(parsed ? parsed->str() : std::string(ref));
}

std::vector<std::string> upsert_image(StoreIndex& index, ImageRecord record) {
  std::vector<std::string> losers;
  for (auto& r : index.images) {
    if (r.id == record.id) continue;
    auto before = r.names.size();
    std::erase_if(r.names, [&](const std::string& n) {
      return std::find(record.names.begin(), record.names.end(), n) != record.names.end();
    });
    if (r.names.size() != before) losers.push_back(r.id);
  }
  auto it = std::find_if(index.images.begin(), index.images.end(),
                         [&](const auto& r) { return r.id == record.id; });
  if (it == index.images.end()) {
    index.images.push_back(std::move(record));
    it = index.images.end() - 1;
  } else {
    it->manifest_digest = record.manifest_digest;
    it->names.insert(it->names.end(), record.names.begin(), record.names.end());
  }
  std::sort(it->names.begin(), it->names.end());
  it->names.erase(std::unique(it->names.begin(), it->names.end()), it->names.end());
  std::sort(index.images.begin(), index.images.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return losers;
}

}  // namespace slipway::oci
