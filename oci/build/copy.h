// COPY and ADD without a container: files go straight into a new layer directory (overlay form)
// that sits on the stage's layers. Missing parent directories take the metadata the stage's
// root file system gives them (so a COPY into /tmp keeps its 1777), new entries belong to root
// (or --chown), keep their permission bits (or get --chmod) and carry SOURCE_DATE_EPOCH as mtime,
// since the cache key ignores times. ADD unpacks local tar archives (gzip, bzip2, xz, zstd).
// Nothing is ever written through a symlink: every path is opened beneath the layer directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/build/rootfs.h"
#include "oci/build/sources.h"
#include "oci/dockerfile/instructions.h"

namespace slipway::oci {

struct CopyOptions {
  std::optional<Owner> chown;       // --chown; else root, or the source's owner (see below)
  // COPY --from: entries keep the owners they have in the stage or image (Docker and BuildKit
  // do); files from the build context become root's. Archive entries always keep theirs.
  bool keep_source_owners = false;
  std::optional<mode_t> chmod;      // --chmod
  int64_t mtime = 0;                // SOURCE_DATE_EPOCH
  bool add = false;                 // ADD: unpack local tar archives into the destination
  std::function<bool()> cancelled;  // checked between entries; true stops the copy
  bool set_owners = true;           // false only where chown is impossible (unprivileged tests)
};

// --chmod: an octal mode such as 755 or 0644.
Result<mode_t> parse_chmod(std::string_view text);

// A file that is already open: ADD <URL>'s download. It becomes a regular file of mode 0600 (or
// --chmod), like Docker's, and is never unpacked.
struct FdSource {
  std::string name;  // its name under a directory destination
  int fd = -1;       // not owned; read with pread from offset 0
};

// What one COPY or ADD asks for, after substitution.
struct CopyRequest {
  std::vector<std::string> sources;
  std::vector<InlineSource> inline_sources;  // heredocs: COPY <<EOF /dest
  std::string dest;
  std::string workdir;  // relative destinations are relative to it
};

// Writes one COPY or ADD into `layer_dir` (an empty directory). `lower` is the stage's root file
// system below the new layer, `tree` where sources are read from; `files` (ADD <URL>'s
// downloads) are written after the sources.
Status run_copy(const CopyRequest& request, const SourceTree& tree, const LayerStack& lower,
                const std::string& layer_dir, const CopyOptions& options,
                const std::vector<FdSource>& files = {});

// The pieces run_copy is made of; public for tests.
class LayerDirWriter {
 public:
  static Result<LayerDirWriter> open(const std::string& layer_dir, const LayerStack& lower,
                                     CopyOptions options);

  // Makes `dir` a directory of the layer, creating what is missing: parents the lower layers
  // have keep their metadata, new ones are 0755 (new_mode for `dir` itself) and owned by the
  // --chown owner or root.
  Status ensure_dir(const PathParts& dir, std::optional<mode_t> new_mode = std::nullopt);
  // Copies a node to `dest` (whose parent exists in the layer); a directory is copied with all
  // it holds.
  Status copy(const SourceTree& tree, const SourceTree::Node& node, const PathParts& dest);
  // A file with the given content (COPY heredocs).
  Status write_file(const PathParts& dest, std::string_view data, mode_t mode);
  // A file with the content of `fd` from offset 0 (ADD <URL>).
  Status write_fd(const PathParts& dest, int fd, mode_t mode);
  // ADD: when fd holds a tar archive (maybe compressed), unpacks it into dest_dir and returns
  // true; false when it is not an archive (the caller copies it as a file).
  Result<bool> extract_if_archive(int fd, const PathParts& dest_dir, std::string_view what);
  // Sets directory mtimes; creating entries changed them, so this comes last.
  Status finish();

 private:
  LayerDirWriter(UniqueFd root, const LayerStack& lower, CopyOptions options)
      : root_(std::move(root)), lower_(&lower), options_(std::move(options)) {}

  // The layer directory at `dir`, opened without following any symlink.
  Result<UniqueFd> open_dir(const PathParts& dir) const;
  // Removes whatever `name` is in the directory fd, so that a new entry can take its place.
  Status clear(int dirfd, const PathParts& path, bool keep_dir);
  Status set_meta(int dirfd, const std::string& name, const PathParts& path, uid_t uid, gid_t gid,
                  mode_t mode, bool is_link);
  Status set_mtime(int dirfd, const std::string& name, const PathParts& path, int64_t mtime);
  Status check_cancel() const;
  Owner owner() const { return options_.chown.value_or(Owner{}); }
  // The owner of a copied entry whose source has `st`.
  Owner owner_of(const struct stat& st) const {
    if (options_.chown) return *options_.chown;
    return options_.keep_source_owners ? Owner{st.st_uid, st.st_gid} : Owner{};
  }

  UniqueFd root_;
  const LayerStack* lower_;
  CopyOptions options_;
  std::map<PathParts, int64_t> dir_times_;
};

}  // namespace slipway::oci
