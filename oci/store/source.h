// Where `image load` reads an image from: an OCI layout or unpacked docker-archive directory, or a
// tar archive of either (possibly compressed, possibly on stdin) whose files are first staged into
// the store's temp directory, hashed on the way, so the archive is read exactly once.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/store/blob_store.h"

namespace slipway::oci {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // The path the user gave, for messages.
  const std::string& location() const { return location_; }
  // rel: a cleaned relative path such as "index.json" or "blobs/sha256/<hex>".
  virtual bool exists(const std::string& rel) const = 0;
  virtual Result<UniqueFd> open(const std::string& rel) const = 0;
  // The staged copy of rel, already hashed; nullptr for directory sources.
  virtual const StagedFile* staged(const std::string& rel) const = 0;

 protected:
  explicit ImageSource(std::string location) : location_(std::move(location)) {}

 private:
  std::string location_;
};

// path: a directory, an archive file, or "-" for an archive on stdin. Archives are staged under
// tmp_dir, and the staging directory is removed when the source is destroyed.
Result<std::unique_ptr<ImageSource>> open_image_source(const std::string& path,
                                                       const std::string& tmp_dir);

// Reads a small file of the source whole (manifest.json, index.json, ...).
Result<std::string> read_source_file(const ImageSource& source, const std::string& rel);

}  // namespace slipway::oci
