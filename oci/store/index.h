// <root>/images.json: which images the store holds, under which names, and what each layer blob
// was found to contain. Plain structs and pure functions; ImageStore does the locking and I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

struct ImageRecord {
  std::string id;                  // config digest
  std::string manifest_digest;     // manifest blob in the store
  std::vector<std::string> names;  // "name:tag", sorted
};

// Facts about a layer blob learnt by reading it once, when it came in.
struct LayerRecord {
  std::string diff_id;  // digest of the uncompressed tar
  int64_t size = 0;     // uncompressed bytes
};

struct StoreIndex {
  std::vector<ImageRecord> images;            // sorted by id
  std::map<std::string, LayerRecord> layers;  // by layer blob digest
};

// How a reference matched, so that `image rm` can tell a tag from an id.
enum class MatchKind { kName, kDigest, kIdPrefix };

struct Match {
  const ImageRecord* image = nullptr;
  MatchKind kind = MatchKind::kName;
  std::string name;  // the matched "name:tag" for kName
};

Result<StoreIndex> parse_store_index(std::string_view json);
std::string to_json(const StoreIndex& index);

// Finds an image by "name[:tag]" (tag defaults to latest; Docker Hub prefixes ignored),
// "name@sha256:...", a full "sha256:..." id or manifest digest, or an unambiguous id prefix with or
// without "sha256:". Names win over id prefixes, as in Docker. A missing image is an error with
// code ENOENT (an ambiguous prefix or a bad reference is not).
Result<Match> find_image(const StoreIndex& index, std::string_view ref);

// Adds the image or merges it with the record of the same id; each name moves to it from whichever
// image held it before. Returns the ids of images that lost a name.
std::vector<std::string> upsert_image(StoreIndex& index, ImageRecord record);

}  // namespace slipway::oci
