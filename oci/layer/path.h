// Pure decisions about layer tar entry names: where an entry lands inside the layer directory,
// whether it is an OCI whiteout, and whether it tries to leave the layer. No file-system access.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

enum class EntryAction {
  kCreate,    // make `name` in `parents` as the tar entry says
  kWhiteout,  // hide `name` of lower layers: an overlay whiteout (char device 0/0)
  kOpaque,    // hide everything lower layers have in the directory `parents`
  kSkip,      // AUFS bookkeeping (.wh..wh.plnk and the like): not image content
};

struct EntryPath {
  EntryAction action = EntryAction::kCreate;
  std::vector<std::string> parents;  // directory components from the layer root, cleaned
  std::string name;                  // last component; empty for the layer root itself
};

// Cleans a tar member name the way Docker does: a leading "/" and "./" segments are dropped, "//"
// collapses, ".." pops a component. A name that would climb above the layer root is an error that
// quotes it, as is a component longer than NAME_MAX.
Result<std::vector<std::string>> clean_entry_path(std::string_view raw);

// clean_entry_path plus whiteout classification. ".wh.NAME" becomes kWhiteout of NAME, and a NAME
// of "", "." or ".." (a whiteout pointing at or above its own directory) is an error.
Result<EntryPath> classify_entry_path(std::string_view raw);

// "a/b/c" from components, "." for none: how errors and logs show a cleaned path.
std::string join_components(const std::vector<std::string>& components);

}  // namespace slipway::oci
