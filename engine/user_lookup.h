// Docker's --user / USER semantics: "uid[:gid]" or "name[:group]", resolved against the container's
// own /etc/passwd and /etc/group (never the host's).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace slipway::engine {

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;  // groups in /etc/group that list the user by name
  std::string home = "/";
};

// Reads a file of the container's rootfs; nullopt when it does not exist.
using RootfsReader = std::function<std::optional<std::string>(std::string_view path)>;

// Empty spec means root. A numeric uid not in /etc/passwd is fine (gid defaults to it... to 0,
// as Docker does); an unknown name is an error.
Result<ResolvedUser> resolve_user(std::string_view spec, const RootfsReader& read);

// Reads files from stacked layer dirs (top-most last in `layers`), or a plain rootfs dir, without
// following any symlink outside the layer: an image cannot make slipway read a host file.
RootfsReader layered_rootfs_reader(std::vector<std::string> layers);

}  // namespace slipway::engine
