#include "oci/reference.h"

#include <vector>

#include "oci/digest.h"

namespace slipway::oci {

namespace {

constexpr size_t kMaxNameLength = 255;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool is_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// host labels [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by '.', then an optional :port.
bool is_domain(std::string_view d) {
  auto colon = d.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    d = d.substr(0, colon);
  }
  if (d.empty()) return false;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    std::string_view label = d.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// The first component is a registry host when it looks like one, as Docker decides.
bool looks_like_domain(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

Status check_name(std::string_view name, std::string_view text) {
  if (name.empty()) return fail("invalid image reference '{}': empty name", text);
  if (name.size() > kMaxNameLength)
    return fail("invalid image reference '{}': name longer than {} characters", text,
                kMaxNameLength);
  auto parts = split(name, '/');
  size_t first_path = 0;
  if (parts.size() > 1 && looks_like_domain(parts[0])) {
    if (!is_domain(parts[0]))
      return fail("invalid image reference '{}': bad registry host '{}'", text, parts[0]);
    first_path = 1;
  }
  for (size_t i = first_path; i < parts.size(); ++i) {
    if (is_path_component(parts[i])) continue;
    for (char c : parts[i])
      if (c >= 'A' && c <= 'Z')
        return fail("invalid image reference '{}': repository name must be lowercase", text);
    return fail("invalid image reference '{}': bad name component '{}'", text, parts[i]);
  }
  return {};
}

}  // namespace

bool is_valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

std::string normalize_name(std::string_view name) {
  for (std::string_view hub : {"docker.io/", "index.docker.io/", "registry-1.docker.io/"}) {
    if (name.starts_with(hub)) {
      name.remove_prefix(hub.size());
      if (name.starts_with("library/") && name.find('/', 8) == std::string_view::npos)
        name.remove_prefix(8);
      break;
    }
  }
  return std::string(name);
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) return fail("invalid image reference '': empty");
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (auto hex = digest_hex(digest); !hex)
      return fail("invalid image reference '{}': {}", text, hex.error().message());
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!is_valid_tag(tag)) return fail("invalid image reference '{}': bad tag '{}'", text, tag);
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  SLW_TRY(check_name(rest, text));
  ref.name = normalize_name(rest);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

std::string Reference::str() const {
  std::string out = name;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

}  // namespace slipway::oci
