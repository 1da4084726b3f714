// Packs a layer directory in overlayfs form (a container's upper dir, or a directory the builder
// filled) into an OCI layer blob: overlay whiteouts (char device 0/0) become `.wh.NAME` entries,
// opaque directories (the overlay.opaque xattr) get a `.wh..wh..opq` entry, entries are sorted,
// owners and modes are kept, mtimes are clamped to SOURCE_DATE_EPOCH, and the gzip stream carries
// no name or time and uses a fixed level: the same tree always gives the same bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "oci/layer/writer.h"

namespace slipway::oci {

// The gzip level of every layer the builder writes; part of what makes digests reproducible.
inline constexpr int kLayerGzipLevel = 6;

struct LayerDiffOptions {
  // Mtimes later than this (seconds since the epoch) are written as it; nullopt keeps them.
  std::optional<int64_t> clamp_mtime;
  // Where overlayfs keeps its xattrs: "trusted." when mounted by root.
  std::string overlay_xattr_namespace = "trusted.";
  // Also make the directory itself what the tar holds (clamped mtimes, overlay bookkeeping xattrs
  // such as origin and impure removed), so that it can serve as the layer's unpacked form.
  bool normalize_dir = false;
};

struct LayerDiff {
  WrittenLayer layer;    // blob staged in tmp_dir; the caller owns (and removes) layer.blob.path
  uint64_t entries = 0;  // tar entries written; 0 means the directory held no change
};

// Writes the layer for `dir` into a new file in tmp_dir. Sockets are skipped; hardlinked files
// become tar hardlinks; only the security.capability xattr is carried. A directory that overlayfs
// marked with redirect or metacopy xattrs cannot be diffed by reading it alone: that is an error.
Result<LayerDiff> write_layer_diff(const std::string& dir, const std::string& tmp_dir,
                                   const LayerDiffOptions& options = {});

}  // namespace slipway::oci
