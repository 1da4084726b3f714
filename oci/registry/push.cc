#include "oci/registry/push.h"

#include <time.h>

#include <algorithm>

#include "base/log.h"
#include "oci/store/blob_store.h"
#include "oci/digest.h"
#include "oci/registry/blob_locations.h"

namespace slipway::oci {

namespace {

// Mount attempts per blob: each failed one costs a round trip and opens an upload session.
constexpr size_t kMaxMountTries = 3;

Result<std::string> oci_layer_type(const Descriptor& layer) {
  std::string_view mt = layer.media_type;
  if (mt == kMediaTypeDockerLayer) return std::string(kMediaTypeOciLayerGzip);
  if (mt == "application/vnd.docker.image.rootfs.diff.tar") return std::string(kMediaTypeOciLayer);
  if (mt == kMediaTypeDockerForeignLayer)
    return fail("layer {} is a foreign layer, which registries do not take", layer.digest);
  if (mt.starts_with("application/vnd.oci.image.layer.")) return std::string(mt);
  return fail("layer {} has media type '{}', which has no OCI equivalent", layer.digest, mt);
}

}  // namespace

Result<PushManifest> manifest_for_push(std::string_view stored) {
  Manifest m = SLW_TRY(parse_manifest(stored));
  PushManifest out;
  out.media_type = std::string(kMediaTypeOciManifest);
  if (m.media_type == kMediaTypeDockerManifest) {
    m.media_type = std::string(kMediaTypeOciManifest);
    m.config.media_type = std::string(kMediaTypeOciConfig);
    for (auto& l : m.layers) l.media_type = SLW_TRY(oci_layer_type(l));
    out.body = to_json(m);
  } else {
    for (const auto& l : m.layers)
      if (!l.urls.empty() || l.media_type.find("nondistributable") != std::string::npos)
        return fail("layer {} is non-distributable, which registries do not take", l.digest);
    out.body = std::string(stored);
  }
  for (const auto& d : m.layers) {
    bool seen = std::any_of(out.blobs.begin(), out.blobs.end(),
                            [&](const Descriptor& b) { return b.digest == d.digest; });
    if (!seen) out.blobs.push_back(d);
  }
  if (std::none_of(out.blobs.begin(), out.blobs.end(),
                   [&](const Descriptor& b) { return b.digest == m.config.digest; }))
    out.blobs.push_back(m.config);
  return out;
}

Result<PushResult> push_image(const ImageStore& store, std::string_view source,
                              const RegistryReference& dest, const PushOptions& options) {
  if (!dest.digest.empty())
    return fail("the destination names a digest ({}); give a tag instead", dest.digest);
  Image image = SLW_TRY(store.resolve(source));
  BlobStore blobs(store.root());
  std::string stored = SLW_TRY(blobs.read(image.manifest_digest));
  PushManifest manifest =
      SLW_TRY(with_context(manifest_for_push(stored), fmt::format("image {}", source)));

  // Opened up front: an `image rm` during the push cannot take the blobs from under us.
  std::vector<UniqueFd> fds;
  for (const auto& b : manifest.blobs) {
    fds.push_back(SLW_TRY(blobs.open(b.digest)));
    int64_t have = SLW_TRY(blobs.size_of(b.digest));
    if (have != b.size)
      return fail("blob {} in the store is {} bytes but the manifest says {}", b.digest, have,
                  b.size);
  }

  RegistryClient client = SLW_TRY(
      RegistryClient::create(dest.registry, dest.repository, "pull,push", options.registry));
  BlobLocationFile location_file(store.root());
  BlobLocationIndex known = location_file.load();
  BlobLocationIndex seen;
  int64_t now = ::time(nullptr);
  PushResult result;
  TransferProgress* progress = options.progress;

  for (size_t i = 0; i < manifest.blobs.size(); ++i) {
    const Descriptor& blob = manifest.blobs[i];
    // A row appears once the blob's fate is known: the HEAD and mount requests before are quick.
    int row = -1;
    auto finish = [&](std::string_view outcome) {
      if (!progress) return;
      if (row < 0) row = progress->begin(short_digest(blob.digest), outcome, blob.size);
      progress->end(row, outcome);
    };
    auto present = client.blob_size(blob.digest);
    if (!present) {
      finish("Failed");
      return std::unexpected(std::move(present.error()));
    }
    if (*present) {
      ++result.present;
      finish("Exists");
      record_blob_location(seen, blob.digest, dest.registry, dest.repository, now);
      continue;
    }
    bool mounted = false;
    auto candidates = mount_candidates(known, blob.digest, dest.registry, dest.repository);
    for (size_t c = 0; c < candidates.size() && c < kMaxMountTries && !mounted; ++c) {
      auto m = client.mount_blob(blob.digest, candidates[c]);
      if (!m) {
        finish("Failed");
        return std::unexpected(std::move(m.error()));
      }
      mounted = *m;
    }
    if (mounted) {
      ++result.mounted;
      finish("Mounted");
    } else {
      if (progress) row = progress->begin(short_digest(blob.digest), "Pushing", blob.size);
      auto up = client.upload_blob(blob.digest, fds[i].get(), blob.size, options.chunk_size,
                                   [&](int64_t n) {
                                     if (progress) progress->update(row, n);
                                   });
      if (!up) {
        finish("Failed");
        return std::unexpected(std::move(up.error()));
      }
      ++result.uploaded;
      result.bytes_uploaded += blob.size;
      finish("Pushed");
    }
    record_blob_location(seen, blob.digest, dest.registry, dest.repository, now);
  }

  result.digest = SLW_TRY(client.put_manifest(dest.tag, manifest.media_type, manifest.body));
  result.manifest_size = static_cast<int64_t>(manifest.body.size());
  result.stats = client.stats();
  if (auto s = location_file.merge(seen); !s)
    log::warn("remember blob locations: {}", s.error().message());
  return result;
}

}  // namespace slipway::oci
