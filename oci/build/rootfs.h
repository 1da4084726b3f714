// A read-only view of a stage's root file system made of stacked layer directories in overlayfs
// form (whiteouts as char 0/0 devices, opaque directories marked with the overlay.opaque xattr),
// merged the way overlayfs would merge them, without mounting anything: the builder uses it to
// resolve COPY destinations, read /etc/passwd for --chown and copy files out of other stages.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace slipway::oci {

// Path components from the root, cleaned: {"usr", "bin"} for /usr/bin; {} for / itself.
using PathParts = std::vector<std::string>;

// Splits and cleans a '/'-separated path; ".." never climbs above the root.
PathParts split_path(std::string_view path);
// "/usr/bin" from {"usr", "bin"}, "/" from {}.
std::string join_path(const PathParts& parts);

// Tells resolve_in_root about symlinks: the target when `path` is a symlink, else nullopt.
using SymlinkReader = std::function<Result<std::optional<std::string>>(const PathParts& path)>;

// Resolves a path inside a root as openat2(RESOLVE_IN_ROOT) would: symlinks are followed (the
// last component only when follow_last), absolute targets restart at the root, ".." stops there.
// The result may name something that does not exist.
Result<PathParts> resolve_in_root(std::string_view path, bool follow_last,
                                  const SymlinkReader& read_symlink);

class LayerStack {
 public:
  LayerStack() = default;
  // layers: directories lowest first; xattr_namespace: "trusted." for root-made overlay dirs.
  explicit LayerStack(std::vector<std::string> layers, std::string xattr_namespace = "trusted.");

  struct Entry {
    struct stat st {};
    std::size_t layer = 0;  // index into layers(), the top-most layer that has the entry
    PathParts path;
  };

  const std::vector<std::string>& layers() const { return layers_; }

  // lstat of a path whose directories hold no symlinks (as resolve() returns); nullopt when
  // missing, hidden by a whiteout or below a non-directory. The root itself is a directory.
  Result<std::optional<Entry>> lookup(const PathParts& path) const;

  // resolve_in_root over this stack.
  Result<PathParts> resolve(std::string_view path, bool follow_last) const;

  // The names in a directory (a resolved path), merged across layers with whiteouts applied,
  // sorted; an error if it is not a directory.
  Result<std::vector<std::string>> list(const PathParts& dir) const;

  // Opens a regular file (from lookup) for reading.
  Result<UniqueFd> open(const Entry& entry) const;
  // The target of a symlink (from lookup).
  Result<std::string> read_link(const Entry& entry) const;
  // Reads a small regular file, following symlinks in the root; nullopt when it does not exist.
  Result<std::optional<std::string>> read_file(std::string_view path,
                                               std::size_t max_size = 4 << 20) const;

  // Host path of an entry in its layer.
  std::string host_path(const Entry& entry) const;

 private:
  struct Walk {
    std::optional<Entry> entry;
    std::vector<std::size_t> dir_layers;  // layers whose copy of the directory shows, top first
  };
  Result<Walk> walk(const PathParts& path) const;
  bool opaque(const std::string& host_path) const;

  std::vector<std::string> layers_;
  std::string opaque_xattr_;
};

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// COPY --chown / ADD --chown as BuildKit reads it: "user[:group]". A user name takes its uid and
// primary gid from the stage's /etc/passwd; a numeric user also becomes the gid; a group (name
// from /etc/group, or number) replaces the gid. Unknown names are errors.
Result<Owner> resolve_owner(std::string_view spec, const LayerStack& rootfs);

}  // namespace slipway::oci
