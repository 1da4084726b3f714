// Applies tar entries to a layer directory through directory fds, never following a symlink and
// never leaving the directory. Internal to the unpacker; separate so each file holds one thing.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/layer/unpacker.h"

struct archive;
struct archive_entry;

namespace slipway::oci {

class LayerExtractor {
 public:
  // root_fd: the (empty) layer directory, kept open by the caller for the extractor's lifetime.
  LayerExtractor(int root_fd, const UnpackOptions& options);

  // Creates what `entry` describes, reading its data from `a`.
  Status apply(struct archive* a, struct archive_entry* entry);
  // Sets directory modes and mtimes (deferred so that creating children does not disturb them) and
  // reports xattrs the file system refused.
  Status finish();

 private:
  struct DeferredDir {
    std::vector<std::string> path;
    mode_t mode;
    timespec mtime;
    bool has_mtime;
  };

  Status apply_entry(struct archive* a, struct archive_entry* entry, const std::string& raw);
  // The fd of the directory `parents`, creating missing directories; refuses symlinks and
  // non-directories on the way. `raw` names the entry in errors.
  Result<int> parent_dir(const std::vector<std::string>& parents, const std::string& raw);
  // Removes whatever is at dir/name so that a new entry can take its place (tar semantics: later
  // entries win). Returns false when nothing was there.
  Result<bool> clear(int dir, const std::string& name);

  Status make_regular(struct archive* a, struct archive_entry* e, int dir, const std::string& name);
  // path: the directory's components from the layer root; its last one is made in dir.
  Status make_directory(struct archive_entry* e, int dir, std::vector<std::string> path);
  Status make_symlink(struct archive_entry* e, int dir, const std::string& name);
  Status make_hardlink(struct archive_entry* e, int dir, const std::string& name,
                       const std::vector<std::string>& path);
  Status make_node(struct archive_entry* e, int dir, const std::string& name);
  Status make_whiteout(int dir, const std::string& name);
  Status mark_opaque(int dir);
  Status set_root_metadata(struct archive_entry* e);

  // Ownership, then xattrs (chown clears security.capability, so they come after it).
  Status set_owner_at(struct archive_entry* e, int dir, const std::string& name);
  Status set_xattrs_fd(struct archive_entry* e, int fd);
  Status set_xattrs_at(struct archive_entry* e, int dir, const std::string& name);
  Status set_mtime_at(struct archive_entry* e, int dir, const std::string& name);
  Status note_xattr_error(const char* name, int err);

  int root_fd_;
  UnpackOptions options_;
  // Directory fds from the root down to the parent of the previous entry: tar entries come in
  // walk order, so most entries reuse all of it.
  std::vector<std::pair<std::string, UniqueFd>> stack_;
  std::vector<DeferredDir> deferred_;
  bool root_seen_ = false;
  int skipped_xattrs_ = 0;
  std::string first_skipped_xattr_;
};

}  // namespace slipway::oci
