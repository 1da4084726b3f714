// Packs a directory into a layer blob, the one way slipway writes layers (`image import` of a
// rootfs, and each layer the builder makes from a step's directory): a pax tar with entries in
// bytewise name order, numeric owners, modes, whole-second mtimes, hardlinks, symlinks, devices,
// fifos and security.capability, gzipped at a fixed level with no name or time in the header. The
// same tree always gives the same bytes, so re-importing an unchanged rootfs or rebuilding an
// unchanged step yields the same digests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"
#include "oci/staged_file.h"

namespace slipway::oci {

// The gzip level of every layer slipway writes; part of what makes digests reproducible.
inline constexpr int kLayerGzipLevel = 6;

struct LayerWriteOptions {
  // Read the directory in overlayfs form (a container's upper dir, or a directory the builder
  // filled): whiteouts (char device 0/0) become `.wh.NAME` entries, opaque directories (the
  // overlay.opaque xattr) get a `.wh..wh..opq` entry, and the redirect and metacopy xattrs, which
  // a walk of the directory alone cannot interpret, are an error. Off, a 0/0 device is a device.
  bool overlay = false;
  // Where overlayfs keeps its xattrs: "trusted." when mounted by root.
  std::string overlay_xattr_namespace = "trusted.";
  // Mtimes later than this (seconds since the epoch) are written as it; nullopt keeps them.
  std::optional<int64_t> clamp_mtime;
  // Also make the directory itself what the tar holds (whole-second, clamped mtimes; in overlay
  // form without bookkeeping xattrs such as origin and impure), so that it can serve as the
  // layer's unpacked form.
  bool normalize_dir = false;
};

struct WrittenLayer {
  StagedFile blob;       // the compressed layer, staged in tmp_dir
  std::string diff_id;   // digest of the uncompressed tar
  int64_t tar_size = 0;  // uncompressed bytes
  uint64_t entries = 0;  // tar entries written; 0 means the directory held nothing (no change)
};

// Writes the layer for `dir` into a new file in tmp_dir. Symlinks are stored, never followed;
// sockets are skipped; hardlinked files become tar hardlinks; only the security.capability xattr
// is carried. The caller owns (and removes) blob.path; on error nothing is left behind.
Result<WrittenLayer> write_layer(const std::string& dir, const std::string& tmp_dir,
                                 const LayerWriteOptions& options = {});

}  // namespace slipway::oci
