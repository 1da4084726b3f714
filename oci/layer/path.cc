#include "oci/layer/path.h"

#include <climits>

namespace slipway::oci {

Result<std::vector<std::string>> clean_entry_path(std::string_view raw) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t slash = raw.find('/', start);
    std::string_view c =
        raw.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") {
      if (out.empty()) return fail("entry '{}': path escapes the layer directory", raw);
      out.pop_back();
    } else if (!c.empty() && c != ".") {
      if (c.size() > NAME_MAX) return fail("entry '{}': a name component is too long", raw);
      out.emplace_back(c);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

Result<EntryPath> classify_entry_path(std::string_view raw) {
  std::vector<std::string> comps = SLW_TRY(clean_entry_path(raw));
  EntryPath e;
  if (comps.empty()) return e;  // the layer root
  e.name = std::move(comps.back());
  comps.pop_back();
  e.parents = std::move(comps);
  for (const auto& p : e.parents) {
    if (p.starts_with(kWhiteoutMetaPrefix)) {
      e.action = EntryAction::kSkip;
      return e;
    }
  }
  if (e.name == kOpaqueWhiteout) {
    e.action = EntryAction::kOpaque;
    e.name.clear();
    return e;
  }
  if (e.name.starts_with(kWhiteoutMetaPrefix)) {
    e.action = EntryAction::kSkip;
    return e;
  }
  if (e.name.starts_with(kWhiteoutPrefix)) {
    std::string target = e.name.substr(kWhiteoutPrefix.size());
    if (target.empty() || target == "." || target == "..")
      return fail("entry '{}': whiteout points outside its directory", raw);
    e.action = EntryAction::kWhiteout;
    e.name = std::move(target);
  }
  return e;
}

std::string join_components(const std::vector<std::string>& components) {
  if (components.empty()) return ".";
  std::string out;
  for (const auto& c : components) {
    if (!out.empty()) out.push_back('/');
    out += c;
  }
  return out;
}

}  // namespace slipway::oci
