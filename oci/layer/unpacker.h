// Unpacks one layer blob into its own directory, a standalone overlayfs lower dir: OCI whiteouts
// become overlay whiteouts, and every write is relative to a directory fd without following
// symlinks, so a hostile layer can never place or change anything outside its directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::oci {

struct UnpackOptions {
  // chown entries to the tar's owners; only root may, so unprivileged callers turn it off.
  bool preserve_owners = true;
  // Namespace of the overlay opaque xattr: "trusted." for overlayfs mounted by root, "user." for
  // overlayfs mounted with the userxattr option.
  std::string overlay_xattr_namespace = "trusted.";
  // syncfs before the final rename, so that a power loss cannot leave a complete-looking layer
  // with empty files. Off by default: like tar and Docker, and it costs ~5x on a slow disk.
  bool sync = false;
};

// Owners and trusted xattrs when running as root, neither otherwise.
UnpackOptions default_unpack_options();

struct UnpackStats {
  std::string diff_id;    // "sha256:..." of the uncompressed tar
  uint64_t tar_size = 0;  // uncompressed bytes
  uint64_t entries = 0;   // tar entries seen
};

// Unpacks the layer read from blob_fd (from its current offset; tar, gzip, zstd, xz or bzip2) into
// `dest`, which must not exist yet: first into a fresh directory under tmp_dir, renamed to dest
// only when every entry is in place and the uncompressed digest equals expected_diff_id ("" skips
// that check). If dest appears meanwhile (another process unpacked the same layer) that one is
// kept. On error the temp directory is removed and the message names the offending entry.
Result<UnpackStats> unpack_layer(int blob_fd, std::string_view expected_diff_id,
                                 const std::string& tmp_dir, const std::string& dest,
                                 const UnpackOptions& options = default_unpack_options());

// Reads a layer without writing anything: its diff_id, size and entry count. Fails on a stream
// that is not a tar and names the first entry whose path escapes the layer.
Result<UnpackStats> scan_layer(int blob_fd);

}  // namespace slipway::oci
