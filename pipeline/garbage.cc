#include "pipeline/garbage.h"

#include "netns/ipam.h"
#include "netns/netlink.h"
#include "netns/network_store.h"
#include "netns/veth.h"
#include "runtime/container_ops.h"

namespace slipway::pipeline {

Result<GarbageReport> collect_garbage(const std::string& root, const runtime::ContainerStore& store) {
  GarbageReport report;
  runtime::GcReport runtime_report = SLW_TRY(runtime::collect_garbage(store));
  report.containers = runtime_report.containers;

  netns::NetworkStore networks(root);
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

}  // namespace slipway::pipeline
