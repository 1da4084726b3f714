#include "pipeline/container_backend.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/fs.h"
#include "netns/ipam.h"
#include "netns/network_store.h"
#include "runtime/container_ops.h"
#include "runtime/container_store.h"

namespace slipway::pipeline {
namespace {

using namespace std::chrono_literals;

// The bridge network address of container `id`, if it has one.
void add_network_lease(const std::string& root, ContainerInfo& info) {
  netns::NetworkStore networks(root);
  auto all = networks.list();
  if (!all) return;
  for (const auto& network : *all) {
    auto leases = netns::Ipam(root, network).leases();
    if (!leases) continue;
    for (const auto& l : *leases) {
      if (l.owner != info.id) continue;
      info.network = network.name;
      info.ip = l.ip.to_string();
      info.dns_names = l.names;
      return;
    }
  }
}

ContainerInfo describe(const runtime::ContainerStore& store, const runtime::ContainerRecord& r,
                       const std::string& root) {
  ContainerInfo info;
  info.id = r.id;
  info.name = r.name;
  info.image = r.image;
  if (auto s = store.load_state(r.id)) {
    runtime::ContainerState st = store.effective_state(*s);
    info.running = runtime::container_running(st);
    if (info.running) info.pid = st.pid;
  }
  add_network_lease(root, info);
  return info;
}

}  // namespace

std::string last_log_line(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return "";
  std::string_view t = *text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.remove_suffix(1);
  auto nl = t.rfind('\n');
  return std::string(nl == std::string_view::npos ? t : t.substr(nl + 1));
}

Result<int> ContainerBackend::run(RunOptions options, int log_fd) {
  options.remove = true;
  options.detach = false;
  return slipway(run_arguments(options), log_fd);
}

Result<ContainerInfo> ContainerBackend::wait_until_running(ChildProcess& process, const std::string& name,
                                                           const std::string& log_path) const {
  // The child publishes its state in the store within milliseconds; poll it rather than add a
  // side channel to `run`.
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  for (;;) {
    if (auto r = store.find(name)) {
      ContainerInfo info = describe(store, *r, how_.root);
      if (info.running) return info;
    }
    auto code = SLW_TRY(process.wait(1ms));
    if (code) {
      std::string why = last_log_line(log_path);
      return fail("container {} exited with {} before it ran{}{}", name, *code, why.empty() ? "" : ": ",
                  why);
    }
  }
}

Result<StepContainer> ContainerBackend::start(RunOptions options, int log_fd, const std::string& log_path) {
  if (options.name.empty()) return fail("start: a container name is required");
  options.remove = true;
  options.detach = false;
  StepContainer c;
  c.process = SLW_TRY(spawn_slipway(how_, run_arguments(options), log_fd));
  c.info = SLW_TRY(wait_until_running(c.process, options.name, log_path));
  return c;
}

Result<ContainerInfo> ContainerBackend::start_detached(RunOptions options, int log_fd,
                                                       const std::string& log_path) {
  if (options.name.empty()) return fail("start: a container name is required");
  options.detach = true;
  int code = SLW_TRY(slipway(run_arguments(options), log_fd));
  if (code != 0) {
    std::string why = last_log_line(log_path);
    return fail("start container {}: exit status {}{}{}", options.name, code, why.empty() ? "" : ": ", why);
  }
  auto info = SLW_TRY(find(options.name));
  if (!info) return fail("container {} vanished right after it started", options.name);
  return *info;
}

Result<std::optional<ContainerInfo>> ContainerBackend::find(const std::string& name) const {
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  for (const auto& r : SLW_TRY(store.list()))
    if (r.name == name || r.id == name) return std::optional(describe(store, r, how_.root));
  return std::optional<ContainerInfo>();
}

Result<std::vector<ContainerInfo>> ContainerBackend::list() const {
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  std::vector<ContainerInfo> out;
  for (const auto& r : SLW_TRY(store.list())) out.push_back(describe(store, r, how_.root));
  return out;
}

Status ContainerBackend::remove(const std::string& name, int log_fd) {
  if (!SLW_TRY(find(name))) return {};
  int code = SLW_TRY(slipway({"rm", "--force", name}, log_fd));
  if (code != 0) return fail("rm -f {}: exit status {}", name, code);
  return {};
}

Status ContainerBackend::set_dns_names(const ContainerInfo& container, std::vector<std::string> names) {
  if (container.network.empty()) return fail("container {} is on no network", container.name);
  netns::NetworkStore networks(how_.root);
  netns::Network network = SLW_TRY(networks.get(container.network));
  return netns::Ipam(how_.root, network).update_names(container.id, std::move(names));
}

Result<int> ContainerBackend::slipway(const std::vector<std::string>& args, int log_fd) const {
  return run_slipway(how_, args, log_fd);
}

}  // namespace slipway::pipeline
