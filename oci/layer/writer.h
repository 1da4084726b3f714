// Packs a directory into a layer blob: a pax tar with entries in bytewise name order, numeric
// owners, modes, whole-second mtimes, hardlinks, symlinks, devices, fifos and security.capability,
// gzipped with no name or time in the header. The same tree always gives the same bytes, so
// re-importing an unchanged rootfs yields the same image id.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "oci/staged_file.h"

namespace slipway::oci {

struct WrittenLayer {
  StagedFile blob;       // the compressed layer, staged in tmp_dir
  std::string diff_id;   // digest of the uncompressed tar
  int64_t tar_size = 0;  // uncompressed bytes
};

// Writes the layer for `dir` into a new file in tmp_dir. Symlinks are stored, never followed;
// sockets are skipped. The caller owns (and removes) blob.path.
Result<WrittenLayer> write_layer(const std::string& dir, const std::string& tmp_dir);

}  // namespace slipway::oci
