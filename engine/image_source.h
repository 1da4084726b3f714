// Images for run, build and the pipeline: the store's, pulled on demand with Docker's policies.
// Pulls go through the root's registry mirrors and insecure registries (oci/registry/config.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/registry/progress.h"
#include "oci/registry/pull.h"
#include "oci/registry/reference.h"
#include "oci/store/image_store.h"

namespace slipway::engine {

// --pull: missing (the default) pulls what the store lacks, always pulls every named image before
// it is used (a moved tag is followed), never only looks in the store.
enum class PullPolicy { kMissing, kAlways, kNever };
Result<PullPolicy> parse_pull_policy(std::string_view text);

struct ImageSource {
  PullPolicy policy = PullPolicy::kMissing;
  oci::TransferProgress* progress = nullptr;  // per-layer progress; nullptr: none
  std::function<void(std::string_view)> note;  // one line per pull; empty: quiet
};

// Pulls `ref` from its registry, or from the first of the root's mirrors that has it (Docker Hub
// images only), naming it in the store as `ref` says.
Result<oci::PullResult> pull_through_mirrors(oci::ImageStore& store, const oci::RegistryReference& ref,
                                             oci::TransferProgress* progress);

// The image `ref` names (name[:tag][@digest], id, or id prefix), pulled first as the policy says.
// An id or digest alone is never pulled. A failed pull names the image and the registry's answer.
Result<oci::Image> find_image(oci::ImageStore& store, std::string_view ref, const ImageSource& source);

}  // namespace slipway::engine
