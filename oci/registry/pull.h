// `slipway pull`: an image from a registry into the store. The manifest is fetched with every
// manifest and index type accepted (an index yields the host platform's entry); each blob the
// store lacks streams into a staging OCI layout, three at a time on connections of their own,
// hashed on the way and checked against its descriptor before anything keeps it. A lock per layer
// blob makes concurrent pulls (of any processes) download each layer once. The store then loads the
// layout, which checks every layer against its diff_id, and tags the image under the reference.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "oci/image_spec.h"
#include "oci/store/image_store.h"
#include "oci/registry/client.h"
#include "oci/registry/progress.h"
#include "oci/registry/reference.h"

namespace slipway::oci {

struct PullOptions {
  RegistryOptions registry;
  Platform platform = host_platform();   // which entry of an index to take
  TransferProgress* progress = nullptr;  // nullptr: quiet
  // The reference the image is named by in the store; empty: the source's. A pull from a mirror
  // names the image as the user wrote it, not by the mirror's host.
  std::string local_name;
};

struct PullResult {
  std::string manifest_digest;
  std::string image_id;  // config digest
  std::string name;      // the local name, "127.0.0.1:5000/app:1"; empty when pulled by digest only
  int downloaded = 0, present = 0;  // layer blobs
  int64_t bytes_downloaded = 0;
  RegistryClient::Stats stats;
};

Result<PullResult> pull_image(ImageStore& store, const RegistryReference& source,
                              const PullOptions& options);

}  // namespace slipway::oci
