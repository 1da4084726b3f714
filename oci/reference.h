// Image references as users and image layouts write them: name[:tag][@digest], normalized so that
// "docker.io/library/busybox" and "busybox" name the same image.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::oci {

inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string name;    // normalized repository: "busybox", "registry.local:5000/team/app"
  std::string tag;     // empty only when a digest was given without a tag
  std::string digest;  // "sha256:..." or empty

  // "name:tag", "name@digest" or "name:tag@digest".
  std::string str() const;
  // "name:tag": how an image's names are stored.
  std::string name_tag() const { return name + ":" + tag; }
};

// Parses name[:tag][@digest]. The tag defaults to "latest" when neither tag nor digest is given.
// Follows the grammar of distribution/reference: lowercase path components separated by '/',
// an optional registry host[:port] first, tags of at most 128 word characters, dots and dashes.
Result<Reference> parse_reference(std::string_view text);

// Docker Hub's implicit parts are dropped: "docker.io/library/x" -> "x", "docker.io/u/x" -> "u/x".
std::string normalize_name(std::string_view name);

// True when text is a tag by the reference grammar ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}).
bool is_valid_tag(std::string_view text);

}  // namespace slipway::oci
