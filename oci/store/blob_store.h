// Content-addressed blobs under <root>/blobs/sha256/<hex>. Nothing enters without being hashed on
// the way in: content is streamed into <root>/tmp, checked against its digest and size, fsynced and
// only then linked or renamed into place, so a blob path never holds partial or wrong content.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "oci/staged_file.h"

namespace slipway::oci {

class BlobStore {
 public:
  explicit BlobStore(std::string root);

  // Creates the blob and temp directories.
  Status init() const;

  // Path of a blob; digest must be a valid sha256 digest.
  std::string path(std::string_view digest) const;
  const std::string& tmp_dir() const { return tmp_; }
  const std::string& blobs_dir() const { return blobs_; }

  bool contains(std::string_view digest) const;
  // Size of a stored blob; the error says it is missing.
  Result<int64_t> size_of(std::string_view digest) const;
  Result<UniqueFd> open(std::string_view digest) const;
  // Reads a small blob (a manifest, index or config) whole and re-checks its digest.
  Result<std::string> read(std::string_view digest) const;

  // Moves (or with keep_source, hard-links) a staged file into place after checking that it is what
  // its descriptor says. An existing blob with the same digest wins.
  Status adopt(const StagedFile& staged, std::string_view digest, int64_t size,
               bool keep_source) const;
  // Stores data under its own digest, which it returns.
  Result<std::string> put(std::string_view data) const;

  Status remove(std::string_view digest) const;
  // Digests of all stored blobs.
  Result<std::vector<std::string>> list() const;

 private:
  std::string root_, blobs_, tmp_;
};

}  // namespace slipway::oci
