#include "engine/image_source.h"

#include <cerrno>

#include "oci/digest.h"
#include "oci/registry/config.h"

namespace slipway::engine {

Result<PullPolicy> parse_pull_policy(std::string_view text) {
  if (text == "missing") return PullPolicy::kMissing;
  if (text == "always") return PullPolicy::kAlways;
  if (text == "never") return PullPolicy::kNever;
  return fail("invalid pull policy \"{}\": missing, always or never", text);
}

namespace {

Result<oci::PullResult> pull_with_config(oci::ImageStore& store, const oci::RegistryReference& ref,
                                         const oci::RegistryConfig& config, oci::TransferProgress* progress) {
  Error last_error;
  for (const auto& from : oci::pull_sources(ref, config)) {
    oci::PullOptions options;
    options.progress = progress;
    options.registry.plain_http = from.plain_http;
    if (!ref.tag.empty()) options.local_name = ref.name() + ":" + ref.tag;
    auto pulled = oci::pull_image(store, from.ref, options);
    if (pulled) return pulled;
    // A mirror that lacks the image (or is down) is passed over, as Docker does; the error of
    // the image's own registry, tried last, is the one reported.
    last_error = std::move(pulled.error());
  }
  return std::unexpected(std::move(last_error));
}

}  // namespace

Result<oci::PullResult> pull_through_mirrors(oci::ImageStore& store, const oci::RegistryReference& ref,
                                             oci::TransferProgress* progress) {
  oci::RegistryConfig config = SLW_TRY(oci::load_registry_config(store.root()));
  return pull_with_config(store, ref, config, progress);
}

Result<oci::Image> find_image(oci::ImageStore& store, std::string_view ref, const ImageSource& source) {
  bool pullable = !oci::is_sha256_digest(ref);
  if (source.policy != PullPolicy::kAlways || !pullable) {
    auto local = store.resolve(ref);
    // Only a missing image is pulled: an ambiguous id prefix or an unreadable store is an error.
    if (local || source.policy == PullPolicy::kNever || !pullable || local.error().code() != ENOENT)
      return local;
  }
  auto parsed = oci::parse_registry_reference(ref);
  if (!parsed) return std::unexpected(std::move(parsed.error()).context(fmt::format("image {}", ref)));
  // Loaded before the pull: a broken file is named as such, not as a failed pull.
  oci::RegistryConfig config = SLW_TRY(oci::load_registry_config(store.root()));
  if (source.note) source.note(fmt::format("pulling {} from {}", parsed->str(), parsed->registry));
  auto pulled = pull_with_config(store, *parsed, config, source.progress);
  if (!pulled) {
    std::string why = source.policy == PullPolicy::kAlways ? "pull" : "not in the store, and its pull";
    return fail("image {}: {} from {} failed: {}", ref, why, parsed->registry, pulled.error().message());
  }
  return store.resolve(pulled->image_id);
}

}  // namespace slipway::engine
