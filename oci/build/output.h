// `slipway build --output`: the built image written out as well as tagged, as an OCI layout
// directory, an oci-archive (that layout as a tar) or a docker-archive (the layout plus Docker's
// manifest.json, which `docker load` and skopeo read, as Docker 25's `docker save` writes it).
// Archives are deterministic: sorted entries, owner 0, SOURCE_DATE_EPOCH times.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/store/image_store.h"

namespace slipway::oci {

struct BuildOutput {
  enum class Kind { kOciLayout, kOciArchive, kDockerArchive };
  Kind kind = Kind::kOciLayout;
  std::string path;
};

// "oci:DIR", "oci-archive:FILE" or "docker-archive:FILE".
Result<BuildOutput> parse_build_output(std::string_view text);

// Writes the image (by id, under all its names). Archives appear complete or not at all.
Status write_build_output(const ImageStore& store, const Image& image, const BuildOutput& output,
                          int64_t mtime);

// Packs a directory into a plain tar at `file` (via a temp file renamed into place): entries
// sorted, owner 0:0, mode 0755/0644, every mtime `mtime`.
Status write_dir_tar(const std::string& dir, const std::string& file, int64_t mtime);

}  // namespace slipway::oci
