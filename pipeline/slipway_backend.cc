#include "pipeline/slipway_backend.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/fs.h"
#include "engine/garbage.h"
#include "netns/ipam.h"
#include "netns/netns_fd.h"
#include "engine/container_view.h"
#include "netns/network_store.h"
#include "oci/store/image_store.h"
#include "pipeline/readiness.h"
#include "runtime/container_ops.h"
#include "runtime/container_store.h"
#include "runtime/supervisor.h"

namespace slipway::pipeline {
namespace {

using namespace std::chrono_literals;

// The bridge network address of container `id`, if it has one.
void add_network_lease(const std::string& root, ContainerInfo& info) {
  auto addresses = engine::container_addresses(root, info.id);
  if (addresses.empty()) return;
  info.network = addresses.front().network.name;
  info.ip = addresses.front().lease.ip.to_string();
  info.dns_names = addresses.front().lease.names;
}

ContainerInfo describe(const runtime::ContainerStore& store, const runtime::ContainerRecord& r,
                       const std::string& root) {
  ContainerInfo info;
  info.id = r.id;
  info.name = r.name;
  info.image = r.image;
  if (auto st = store.current_state(r.id)) {
    info.running = runtime::container_running(*st);
    if (info.running) info.pid = st->pid;
    if (r.health) info.health = st->health ? st->health->status : "starting";
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

Result<int> SlipwayBackend::run(RunOptions options, int log_fd) {
  options.remove = true;
  options.detach = false;
  return slipway(run_arguments(options), log_fd);
}

Result<ContainerInfo> SlipwayBackend::wait_until_running(ChildProcess& process, const std::string& name,
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

Result<StepContainer> SlipwayBackend::start(RunOptions options, int log_fd, const std::string& log_path) {
  if (options.name.empty()) return fail("start: a container name is required");
  options.remove = true;
  options.detach = false;
  StepContainer c;
  c.process = SLW_TRY(spawn_slipway(how_, run_arguments(options), log_fd));
  c.info = SLW_TRY(wait_until_running(c.process, options.name, log_path));
  return c;
}

Result<ContainerInfo> SlipwayBackend::start_detached(RunOptions options, int log_fd,
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

Result<std::optional<ContainerInfo>> SlipwayBackend::find(const std::string& name) const {
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  for (const auto& r : SLW_TRY(store.list()))
    if (r.name == name || r.id == name) return std::optional(describe(store, r, how_.root));
  return std::optional<ContainerInfo>();
}

Result<std::vector<ContainerInfo>> SlipwayBackend::list() const {
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  std::vector<ContainerInfo> out;
  for (const auto& r : SLW_TRY(store.list())) out.push_back(describe(store, r, how_.root));
  return out;
}

Status SlipwayBackend::remove(const std::string& name, int log_fd) {
  if (!SLW_TRY(find(name))) return {};
  int code = SLW_TRY(slipway({"rm", "--force", name}, log_fd));
  if (code != 0) return fail("rm -f {}: exit status {}", name, code);
  return {};
}

Status SlipwayBackend::set_dns_names(const ContainerInfo& container, std::vector<std::string> names) {
  if (container.network.empty()) return fail("container {} is on no network", container.name);
  netns::NetworkStore networks(how_.root);
  netns::Network network = SLW_TRY(networks.get(container.network));
  return netns::Ipam(how_.root, network).update_names(container.id, std::move(names));
}

Result<int> SlipwayBackend::slipway(const std::vector<std::string>& args, int log_fd) const {
  return run_slipway(how_, args, log_fd);
}

bool SlipwayBackend::running(StepContainer& container) {
  auto exited = container.process.wait(0ms);
  return exited && !exited->has_value();
}

void SlipwayBackend::stop(StepContainer& container, int log_fd) {
  (void)remove(container.info.name, log_fd);
  if (!container.process.exited()) (void)container.process.wait(10s);
}

std::string SlipwayBackend::last_words(const std::string& id) const {
  auto store = runtime::ContainerStore::open(how_.run_root);
  if (!store) return "";
  auto record = store->find(id);
  if (!record) return "";
  std::string err = last_log_line(runtime::stderr_log(*store, *record));
  return err.empty() ? last_log_line(runtime::stdout_log(*store, *record)) : err;
}

Status SlipwayBackend::ensure_network(const ServiceSetSpec& set) {
  if (set.network == "host") return {};
  netns::NetworkStore networks(how_.root);
  if (networks.get(set.network)) return {};
  netns::NetworkOptions options;
  if (!set.subnet.empty()) options.subnet = SLW_TRY(netns::parse_cidr(set.subnet));
  if (!set.domain.empty()) options.domain = set.domain;
  auto created = networks.create(set.network, options);
  // Another runner may have made it at the same moment.
  if (!created && !networks.get(set.network)) return std::unexpected(created.error());
  return {};
}

Result<bool> SlipwayBackend::has_image(const std::string& image) const {
  auto images = SLW_TRY(oci::ImageStore::open(how_.root));
  return images.resolve(image).has_value();
}

Result<int> SlipwayBackend::build(const BuildRequest& r, int log_fd) {
  std::vector<std::string> args = {"build", "--tag", r.image, "--file", r.dockerfile};
  if (!r.target.empty()) args.insert(args.end(), {"--target", r.target});
  if (r.pull != "missing") args.insert(args.end(), {"--pull", r.pull});
  for (const auto& [k, v] : r.build_args) args.insert(args.end(), {"--build-arg", k + "=" + v});
  args.push_back(r.context);
  SlipwayInvocation how = how_;
  how.env.push_back(fmt::format("SOURCE_DATE_EPOCH={}", r.source_date_epoch));
  return run_slipway(how, args, log_fd);
}

Result<int> SlipwayBackend::push(const PushRequest& r, int log_fd) {
  std::vector<std::string> args = {"push"};
  if (r.plain_http) args.push_back("--plain-http");
  args.insert(args.end(), {r.image, r.destination});
  return slipway(args, log_fd);
}

Status SlipwayBackend::wait_until_healthy(const std::string& id, double timeout_seconds,
                                          const std::function<bool()>& alive) {
  auto store = SLW_TRY(runtime::ContainerStore::open(how_.run_root));
  auto record = SLW_TRY(store.find(id));
  if (!record.health) return fail("container {} has no health check", record.name);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::llround(timeout_seconds * 1000));
  for (;;) {
    auto state = SLW_TRY(store.current_state(record.id));
    if (state.health && state.health->status == "healthy") return {};
    if (state.health && state.health->status == "unhealthy") {
      std::string output = state.health->log.empty() ? "" : state.health->log.back().output;
      while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
      return fail("health check failed {} times in a row{}{}", state.health->failing_streak,
                  output.empty() ? "" : ": ", output);
    }
    if (!alive()) return fail("exited before it was healthy");
    if (std::chrono::steady_clock::now() >= deadline)
      return fail("not healthy after {} s", timeout_seconds);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status SlipwayBackend::wait_until_ready(const ReadinessProbe& probe, const std::string& host, pid_t netns_of,
                                        const std::function<bool()>& alive) {
  if (netns_of <= 0) return pipeline::wait_until_ready(probe, host, -1, alive);
  UniqueFd netns = SLW_TRY(netns::open_netns(netns_of));
  return pipeline::wait_until_ready(probe, host, netns.get(), alive);
}

void SlipwayBackend::clean_up_interrupted(const std::string& marker) {
  auto store = runtime::ContainerStore::open(how_.run_root);
  if (!store) return;
  // The killed `slipway run` children take their containers along (PR_SET_PDEATHSIG); gc removes
  // the records they could not.
  for (int i = 0; i < 100; ++i) {
    (void)engine::collect_garbage(how_.root, *store);
    auto records = store->list();
    if (!records || std::none_of(records->begin(), records->end(), [&](const auto& r) {
          return r.name.find(marker) != std::string::npos;
        }))
      return;
    std::this_thread::sleep_for(30ms);
  }
}

}  // namespace slipway::pipeline
