#include "engine/prune.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "netns/ipam.h"
#include "netns/network_store.h"
#include "oci/store/image_store.h"
#include "runtime/container_ops.h"

namespace slipway::engine {
namespace {

int64_t stored_blob_bytes(const oci::BlobStore& blobs) {
  int64_t total = 0;
  for (const auto& digest : blobs.list().value_or(std::vector<std::string>{}))
    total += blobs.size_of(digest).value_or(0);
  return total;
}

// Images any container record (running or not) was made from: Docker keeps those from prune.
std::set<std::string> images_in_use(const runtime::ContainerStore& containers) {
  std::set<std::string> used;
  for (const auto& r : containers.list().value_or(std::vector<runtime::ContainerRecord>{}))
    if (!r.image_id.empty()) used.insert(r.image_id);
  return used;
}

Status remove_images(oci::ImageStore& store, const runtime::ContainerStore& containers, bool all,
                     PruneReport& report) {
  std::set<std::string> used = images_in_use(containers);
  std::vector<std::string> doomed;
  for (const auto& image : SLW_TRY(store.list()))
    if (!used.contains(image.id) && (all || image.names.empty())) doomed.push_back(image.id);
  if (doomed.empty()) return {};
  for (const auto& e : SLW_TRY(store.remove(doomed, /*force=*/true))) {
    if (e.kind == oci::RemovalEvent::Kind::kUntagged) report.untagged.push_back(e.what);
    else report.deleted.push_back(e.what);
  }
  return {};
}

// The digests of the layer blobs images hold.
Result<std::set<std::string>> image_layers(oci::ImageStore& store) {
  std::set<std::string> held;
  for (const auto& image : SLW_TRY(store.list()))
    for (const auto& l : image.layers) held.insert(l.digest);
  return held;
}

Status remove_cache_entries(const std::string& root, oci::ImageStore& store, bool all, PruneReport& report) {
  std::string dir = fs::join(root, "build-cache");
  auto names = fs::list_dir(dir);
  if (!names) return {};  // no build ever ran
  std::set<std::string> held = SLW_TRY(image_layers(store));
  for (const auto& name : *names) {
    if (!name.ends_with(".json")) continue;
    std::string path = fs::join(dir, name);
    bool dangling = true;
    if (!all) {
      // An entry whose layer an image holds costs nothing and saves the next build its step.
      auto j = nlohmann::json::parse(fs::read_file(path).value_or(""), nullptr, false);
      if (!j.is_discarded() && j.contains("layer") && j["layer"].is_object())
        dangling = !held.contains(j["layer"].value("digest", ""));
      else if (!j.is_discarded())
        dangling = false;  // a step that changed nothing: no layer to free
    }
    if (!dangling) continue;
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno(fmt::format("remove {}", path));
    report.cache_entries.push_back("sha256:" + name.substr(0, name.size() - 5));
  }
  return {};
}

// Runs `remove` on the store, then collects what nothing refers to any more, counting the blob
// bytes that went.
template <class Remove>
Status prune_store(const std::string& root, PruneReport& report, Remove remove) {
  oci::ImageStore store = SLW_TRY(oci::ImageStore::open(root));
  int64_t before = stored_blob_bytes(store.blobs());
  SLW_TRY(remove(store));
  SLW_TRY(store.prune());
  report.reclaimed_bytes = std::max<int64_t>(0, before - stored_blob_bytes(store.blobs()));
  return {};
}

}  // namespace

Result<PruneReport> prune_images(const std::string& root, const runtime::ContainerStore& containers, bool all) {
  PruneReport report;
  SLW_TRY(prune_store(root, report, [&](oci::ImageStore& store) { return remove_images(store, containers, all, report); }));
  return report;
}

Result<PruneReport> prune_build_cache(const std::string& root, bool all) {
  PruneReport report;
  SLW_TRY(prune_store(root, report, [&](oci::ImageStore& store) { return remove_cache_entries(root, store, all, report); }));
  return report;
}

Result<PruneReport> prune_system(const std::string& root, const runtime::ContainerStore& containers, bool all) {
  PruneReport report;
  for (const auto& r : SLW_TRY(containers.list())) {
    auto state = containers.current_state(r.id);
    if (!state || runtime::container_running(*state)) continue;
    SLW_TRY(runtime::remove_container(containers, r, /*force=*/false));
    report.containers.push_back(r.id);
  }
  netns::NetworkStore networks(root);
  for (const auto& n : networks.list().value_or(std::vector<netns::Network>{})) {
    if (n.name == netns::kDefaultNetworkName) continue;  // as Docker keeps its bridge
    auto leases = netns::Ipam(root, n).leases();
    if (!leases || !leases->empty()) continue;
    if (auto removed = networks.remove(n.name); !removed) {
      log::warn("keeping network {}: {}", n.name, removed.error().message());
      continue;
    }
    report.networks.push_back(n.name);
  }
  SLW_TRY(prune_store(root, report, [&](oci::ImageStore& store) -> Status {
    SLW_TRY(remove_images(store, containers, all, report));
    return remove_cache_entries(root, store, all, report);
  }));
  return report;
}

}  // namespace slipway::engine
