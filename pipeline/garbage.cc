#include "pipeline/garbage.h"

#include "base/fs.h"
#include "netns/ipam.h"
#include "netns/netlink.h"
#include "netns/network_store.h"
#include "netns/veth.h"
#include "oci/staged_file.h"
#include "pipeline/container_config.h"
#include "pipeline/git_checkout.h"
#include "pipeline/pipeline_engine.h"
#include "pipeline/pipeline_run.h"
#include "runtime/container_ops.h"

namespace slipway::pipeline {
namespace {

// A run whose runner died before it finished: its report says so, and its checkout and the
// report it was writing go.
Result<bool> collect_run(const std::string& run_dir, std::vector<std::string>& partial) {
  auto runner = read_runner(run_dir);
  if (!runner || runtime::process_alive(runner->pid, runner->start_time)) return false;
  std::string src = fs::join(run_dir, "src");
  if (fs::exists(src)) SLW_TRY(fs::remove_tree(src));
  for (auto& name : SLW_TRY(fs::remove_stale_atomic_writes(run_dir)))
    partial.push_back(std::move(name));
  auto text = fs::read_file(fs::join(run_dir, "summary.json"));
  if (!text) return false;
  RunRecord record = SLW_TRY(parse_summary_json(*text));
  if (record.finished) return false;
  for (auto& step : record.steps) {
    if (step.status != StepStatus::kRunning) continue;
    step.status = StepStatus::kFailed;
    step.message = "the pipeline runner was killed";
  }
  record.finished = true;
  record.passed = false;
  SLW_TRY(write_reports(record, run_dir));
  return true;
}

// Snapshot copies that a killed runner left half made (<commit>.tmp-<pid>).
Result<std::vector<std::string>> remove_partial_snapshot_copies(const std::string& root) {
  std::vector<std::string> removed;
  std::string dir = snapshot_copies_dir(root);
  auto names = fs::list_dir(dir);
  if (!names) return removed;
  for (const auto& name : *names) {
    if (!fs::process_gone(fs::pid_after_mark(name, ".tmp-"))) continue;
    SLW_TRY_CTX(fs::remove_tree(fs::join(dir, name)), "gc snapshot copy {}", name);
    removed.push_back(name);
  }
  return removed;
}

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
  for (auto& name : SLW_TRY(remove_staged_runs(root))) report.partial.push_back(std::move(name));
  for (auto& name : SLW_TRY(remove_partial_snapshot_copies(root)))
    report.partial.push_back(std::move(name));
  for (auto& name : SLW_TRY(remove_partial_mirror_files(git_cache_dir(root))))
    report.partial.push_back(std::move(name));
  if (auto runs = fs::list_dir(pipeline_runs_dir(root))) {
    for (const auto& id : *runs)
      if (!id.starts_with(".") &&
          SLW_TRY(collect_run(fs::join(pipeline_runs_dir(root), id), report.partial)))
        report.runs.push_back(id);
  }

  netns::NetworkStore networks(root);
  report.network_files = SLW_TRY(networks.remove_orphan_files());
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
