// `slipway push`: an image of the store to a registry. Each blob (layers, then the config) is
// checked with HEAD first, mounted from another repository of the same registry when one is
// known to have it, else uploaded; then the manifest is PUT under the tag. An OCI manifest is
// pushed as stored, byte for byte; a Docker v2 one is rewritten as OCI.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/image_spec.h"
#include "oci/store/image_store.h"
#include "oci/registry/client.h"
#include "oci/registry/progress.h"
#include "oci/registry/reference.h"
#include "oci/registry/upload_plan.h"

namespace slipway::oci {

struct PushOptions {
  RegistryOptions registry;
  // Blobs larger than this go up in PATCH chunks of this size.
  int64_t chunk_size = kDefaultChunkSize;
  TransferProgress* progress = nullptr;  // nullptr: quiet
};

struct PushResult {
  std::string digest;  // of the pushed manifest
  int64_t manifest_size = 0;
  int uploaded = 0, mounted = 0, present = 0;  // blobs
  int64_t bytes_uploaded = 0;
  RegistryClient::Stats stats;
};

// What goes to the registry for a stored manifest.
struct PushManifest {
  std::string media_type;
  std::string body;
  std::vector<Descriptor> blobs;  // layers lowest first, then the config; no duplicates
};

// The stored manifest as is when it is OCI; a Docker v2 manifest becomes an OCI one with the same
// config and layer blobs. Foreign (non-distributable) layers cannot be pushed.
Result<PushManifest> manifest_for_push(std::string_view stored_manifest);

// Pushes the image `source` names in store to dest (which must not pin a digest).
Result<PushResult> push_image(const ImageStore& store, std::string_view source,
                              const RegistryReference& dest, const PushOptions& options);

}  // namespace slipway::oci
