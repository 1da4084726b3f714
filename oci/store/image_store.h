// The image store under a slipway root R: verified blobs (R/blobs/sha256/<hex>), names and layer
// facts (R/images.json), unpacked layers shared by all containers (R/layers/<chain id hex>/), temp
// files (R/tmp/) and flock files (R/locks/). Several slipway processes may share one root.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/file_lock.h"
#include "oci/image_spec.h"
#include "oci/store/blob_store.h"
#include "oci/store/index.h"
#include "oci/store/loader.h"

namespace slipway::oci {

struct Image {
  std::string id;  // config digest "sha256:..."
  std::string manifest_digest;
  std::vector<std::string> names;  // "name:tag", sorted
  ImageConfig config;
  std::vector<std::string> diff_ids;   // lowest layer first
  std::vector<std::string> chain_ids;  // lowest layer first
  int64_t size = 0;                    // uncompressed layer bytes, as `docker images` shows
  Platform platform;
  std::string created;             // RFC 3339 from the config; may be empty
  std::vector<Descriptor> layers;  // layer blobs, lowest first
};

struct LoadedImage {
  std::string id;
  std::vector<std::string> names;
};

struct RemovalEvent {
  enum class Kind { kUntagged, kDeleted };
  Kind kind;
  std::string what;  // the name for kUntagged, the id for kDeleted
};

// Shared flocks on unpacked layer directories: while held, no `image rm` or prune removes them.
// A container holds one for as long as its overlay uses the layers.
class LayerLease {
 public:
  LayerLease() = default;
  LayerLease(LayerLease&&) = default;
  LayerLease& operator=(LayerLease&&) = default;
  // The lock fds, for a supervisor that must keep them across exec (they are O_CLOEXEC).
  std::vector<int> fds() const;

 private:
  friend class ImageStore;
  std::vector<FileLock> locks_;
};

class ImageStore {
 public:
  // Creates the store directories under root if needed.
  static Result<ImageStore> open(const std::string& root);

  const std::string& root() const { return root_; }

  // An image by name[:tag], name@digest, full id or manifest digest, or unambiguous id prefix.
  Result<Image> resolve(std::string_view ref) const;
  // All images, sorted by first name (untagged ones last).
  Result<std::vector<Image>> list() const;
  // Unpacks missing layers; returns the layer dirs lowest first.
  Result<std::vector<std::string>> unpacked_layers(const Image& image);
  // Keeps the given layer dirs (from unpacked_layers) from being removed while the lease lives.
  Result<LayerLease> lease_layers(const std::vector<std::string>& layer_dirs) const;

  // `image load`: an OCI layout dir, an oci-archive or docker-archive tar (maybe compressed), or
  // "-" for an archive on stdin.
  Result<std::vector<LoadedImage>> load(const std::string& path, const LoadOptions& options = {});
  // `image import`: a rootfs directory (packed deterministically) or a layer tar, as a one-layer
  // image named `name`.
  Result<LoadedImage> import(const std::string& path, std::string_view name);
  // `image rm`: a name untags (and deletes the image with its last name); an id or digest deletes
  // the image, which needs force when it has several names. Unreferenced blobs and layers go too.
  Result<std::vector<RemovalEvent>> remove(const std::vector<std::string>& refs, bool force);
  // `tag`: gives the image `source` names the additional name `target` (name[:tag]), which moves
  // from any image that had it.
  Result<Image> tag(std::string_view source, std::string_view target);
  // `image save`: writes the image as an OCI layout in dir (created, or an existing layout that
  // gains the image), with org.opencontainers.image.ref.name set to the name used.
  Status save(std::string_view ref, const std::string& dir) const;
  // `image inspect`: a JSON array with one object per ref.
  Result<std::string> inspect(const std::vector<std::string>& refs) const;

  // Removes blobs and unpacked layers no image refers to (unless leased) and temp files of dead
  // processes.
  Status prune();

  // Where the layer of a chain id is unpacked.
  std::string layer_dir(std::string_view chain_id) const;

  // ---- for the image builder (oci/build_*) ----

  const BlobStore& blobs() const { return blobs_; }
  // Held for a whole build: no `image rm` or prune collects the blobs and layers a build made
  // before an image names them. Also removes temp files of dead processes.
  Result<FileLock> hold_for_build() const;
  // Moves `dir`, the unpacked form of the layer with this chain id (overlay whiteouts, as
  // unpack_layer makes), into the layer cache, so that nothing unpacks its blob again; when that
  // layer is unpacked already, dir is removed instead. dir must be on the store's file system.
  Status adopt_layer_dir(std::string_view chain_id, const std::string& dir);

  struct NewImage {
    std::string config;                          // the config blob's JSON
    std::vector<Descriptor> layers;              // blobs already in the store, lowest first
    std::map<std::string, LayerRecord> records;  // facts of layers new to images.json
    std::vector<std::string> names;              // "name:tag"; they move from other images
  };
  // Stores the config and an OCI manifest and records the image; images.json is left alone
  // when it already says exactly this (a rebuild from cache writes nothing).
  Result<Image> commit_image(const NewImage& image);

 private:
  explicit ImageStore(std::string root);

  Result<StoreIndex> read_index() const;
  Status write_index(const StoreIndex& index) const;
  Result<Image> build_image(const ImageRecord& record, const StoreIndex& index) const;
  Result<std::vector<LoadedImage>> commit(std::vector<IngestedImage> images);
  // Caller holds the gc lock exclusively.
  Status collect_garbage();
  void sweep_tmp() const;
  Result<FileLock> lock(std::string_view name, FileLock::Mode mode) const;
  // Lock names: gc excludes every writer (shared) while it runs (exclusive); index guards index.json.
  static constexpr std::string_view kGcLock = "images-gc";
  static constexpr std::string_view kIndexLock = "images";

  std::string root_;
  BlobStore blobs_;
  std::string layers_dir_, locks_dir_, index_path_;
};

}  // namespace slipway::oci
