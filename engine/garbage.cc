#include "engine/garbage.h"

#include "base/fs.h"
#include "base/log.h"
#include "engine/container_config.h"
#include "netns/egress.h"
#include "netns/ipam.h"
#include "netns/netlink.h"
#include "netns/network_store.h"
#include "netns/veth.h"
#include "oci/staged_file.h"
#include "runtime/container_ops.h"

namespace slipway::engine {
namespace {

// A container's data dir is made after its record and removed before it, so one without a record
// belongs to a container that is gone: the run root is a tmpfs that a reboot empties.
Result<std::vector<std::string>> remove_orphan_data_dirs(const std::string& root,
                                                         const runtime::ContainerStore& store) {
  std::vector<std::string> removed;
  std::string data_root = container_data_root(root, store);
  auto ids = fs::list_dir(data_root);
  if (!ids) return removed;
  for (const auto& id : *ids) {
    if (id.size() != 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    if (fs::exists(store.dir(id))) continue;
    SLW_TRY_CTX(fs::remove_tree(fs::join(data_root, id)), "gc data of container {}", id.substr(0, 12));
    removed.push_back(id);
  }
  return removed;
}

}  // namespace

Result<GarbageReport> collect_garbage(const std::string& root, const runtime::ContainerStore& store) {
  GarbageReport report;
  runtime::GcReport runtime_report = SLW_TRY(runtime::collect_garbage(store));
  report.containers = runtime_report.containers;

  report.partial = SLW_TRY(oci::remove_partial_files(fs::join(root, "tmp")));
  report.data_dirs = SLW_TRY(remove_orphan_data_dirs(root, store));
  for (auto& name : SLW_TRY(store.remove_partial_records()))
    report.partial.push_back(std::move(name));

  netns::NetworkStore networks(root);
  report.network_files = SLW_TRY(networks.remove_orphan_files());
  // Rules of bridges that are gone (a killed `network rm`), whichever root made them: a bridge
  // that does not exist has no containers to lose.
  if (auto pruned = netns::prune_egress()) {
    report.nftables_rules = std::move(*pruned);
  } else {
    log::warn("gc: {}", pruned.error().message());
  }
  auto all = networks.list();
  if (!all) return report;  // no network was ever created under this root
  for (const auto& network : *all) {
    netns::Ipam ipam(root, network);
    // A lease lives while its owner process or its container does (a dying container keeps
    // its address until it is really gone).
    auto reclaimed = SLW_TRY(ipam.reclaim([&store](const netns::Lease& l) {
      if (runtime::process_alive(l.pid, l.start_time)) return true;
      auto record = store.find(l.owner);
      if (!record) return false;
      auto st = store.load_state(record->id);
      return st && runtime::container_running(*st);
    }));
    for (const auto& l : reclaimed) report.leases.push_back(network.name + "/" + l.ip.to_string());
  }
  // A dead container's netns takes its veth with it; a veth survives only if something else keeps
  // the netns alive. Remove those of this store's dead containers.
  auto links = netns::Netlink::open();
  if (!links) return report;
  for (const auto& r : SLW_TRY(store.list())) {
    auto st = store.load_state(r.id);
    if (st && runtime::container_running(*st)) continue;
    std::string veth = netns::host_veth_name(r.id);
    if (links->link_exists(veth).value_or(false) && links->delete_link(veth))
      report.links.push_back(veth);
  }
  return report;
}

}  // namespace slipway::engine
