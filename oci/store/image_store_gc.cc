// ImageStore: removing images and collecting what no image refers to any more.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/fs.h"
#include "base/log.h"
#include "oci/digest.h"
#include "oci/store/image_store.h"

namespace slipway::oci {

Result<std::vector<RemovalEvent>> ImageStore::remove(const std::vector<std::string>& refs,
                                                     bool force) {
  FileLock gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kExclusive));
  std::vector<RemovalEvent> events;
  {
    FileLock guard = SLW_TRY(lock(kIndexLock, FileLock::Mode::kExclusive));
    StoreIndex index = SLW_TRY(read_index());
    // Resolve every ref before changing anything, so a typo in the third leaves the first two.
    struct Step {
      std::string id;
      std::string name;  // empty: delete the image by id
    };
    std::vector<Step> steps;
    for (const auto& ref : refs) {
      Match m = SLW_TRY(find_image(index, ref));
      if (m.kind == MatchKind::kName) {
        steps.push_back({m.image->id, m.name});
        continue;
      }
      if (m.image->names.size() > 1 && !force) {
        std::string names;
        for (const auto& n : m.image->names) names += (names.empty() ? "" : ", ") + n;
        return fail("image {} has several names ({}): remove them by name, or use --force", ref,
                    names);
      }
      steps.push_back({m.image->id, ""});
    }
    for (const auto& step : steps) {
      auto it = std::find_if(index.images.begin(), index.images.end(),
                             [&](const ImageRecord& r) { return r.id == step.id; });
      if (it == index.images.end()) continue;  // already deleted by an earlier ref
      if (!step.name.empty()) {
        if (std::erase(it->names, step.name) > 0)
          events.push_back({RemovalEvent::Kind::kUntagged, step.name});
        if (!it->names.empty()) continue;
      } else {
        for (const auto& n : it->names) events.push_back({RemovalEvent::Kind::kUntagged, n});
      }
      events.push_back({RemovalEvent::Kind::kDeleted, it->id});
      index.images.erase(it);
    }
    SLW_TRY(write_index(index));
  }
  SLW_TRY(collect_garbage());
  return events;
}

Status ImageStore::prune() {
  FileLock gc = SLW_TRY(lock(kGcLock, FileLock::Mode::kExclusive));
  sweep_tmp();
  return collect_garbage();
}

Status ImageStore::collect_garbage() {
  FileLock guard = SLW_TRY(lock(kIndexLock, FileLock::Mode::kExclusive));
  StoreIndex index = SLW_TRY(read_index());
  std::set<std::string> blobs, chains;
  for (const auto& r : index.images) {
    Image img = SLW_TRY(build_image(r, index));
    blobs.insert(img.id);
    blobs.insert(img.manifest_digest);
    for (const auto& l : img.layers) blobs.insert(l.digest);
    chains.insert(img.chain_ids.begin(), img.chain_ids.end());
  }
  for (const auto& digest : SLW_TRY(blobs_.list())) {
    if (blobs.contains(digest)) continue;
    SLW_TRY(blobs_.remove(digest));
    index.layers.erase(digest);
  }
  std::erase_if(index.layers, [&](const auto& kv) { return !blobs.contains(kv.first); });
  SLW_TRY(write_index(index));

  for (const auto& hex : SLW_TRY(fs::list_dir(layers_dir_))) {
    std::string chain = std::string(kSha256Prefix) + hex;
    if (!is_sha256_digest(chain) || chains.contains(chain)) continue;
    std::string dir = fs::join(layers_dir_, hex);
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) continue;
    auto held = SLW_TRY(FileLock::try_acquire_fd(std::move(fd), FileLock::Mode::kExclusive, dir));
    if (!held) {
      log::info("keeping layer {}: a container still uses it", dir);
      continue;
    }
    // Out of layers/ first, so that no one ever sees a half-removed layer under its name.
    std::string doomed = fs::join(blobs_.tmp_dir(), fmt::format("rm-{}-{}", ::getpid(), hex));
    if (::rename(dir.c_str(), doomed.c_str()) < 0)
      return fail_errno(fmt::format("move {} to {}", dir, doomed));
    SLW_TRY(fs::remove_tree(doomed));
    ::unlink(fs::join(locks_dir_, "layer-" + hex + ".lock").c_str());
  }
  return {};
}

}  // namespace slipway::oci
