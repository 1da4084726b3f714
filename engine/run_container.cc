#include "engine/run_container.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/random_id.h"
#include "base/step_clock.h"
#include "engine/container_config.h"
#include "engine/container_network.h"
#include "engine/health_check.h"
#include "engine/health_probe.h"
#include "oci/store/image_store.h"
#include "runtime/container_store.h"
#include "runtime/readonly_binary.h"
#include "runtime/supervisor.h"

namespace slipway::engine {

namespace {

// What a container needs again at every start besides its record: the options its network is
// made from (a new lease, veth and forwarders each time), next to its config.json.
constexpr const char* kStartOptionsFile = "start-options.json";

Status save_start_options(const runtime::ContainerStore& store, const std::string& id, const RunOptions& o,
                          const std::string& added_hosts) {
  nlohmann::json j = {{"net", o.net},           {"ip", o.ip},           {"aliases", o.aliases},
                      {"forwards", o.forwards}, {"publish", o.publish}, {"added_hosts", added_hosts}};
  return fs::write_file_atomic(fs::join(store.dir(id), kStartOptionsFile), j.dump() + "\n", 0600);
}

Result<std::pair<RunOptions, std::string>> load_start_options(const runtime::ContainerStore& store,
                                                              const std::string& id) {
  std::string path = fs::join(store.dir(id), kStartOptionsFile);
  std::string text = SLW_TRY(fs::read_file(path));
  try {
    auto j = nlohmann::json::parse(text);
    RunOptions o;
    o.net = j.at("net").get<std::string>();
    o.ip = j.at("ip").get<std::string>();
    o.aliases = j.at("aliases").get<std::vector<std::string>>();
    o.forwards = j.at("forwards").get<std::vector<std::string>>();
    o.publish = j.at("publish").get<std::vector<std::string>>();
    return std::make_pair(std::move(o), j.at("added_hosts").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    return fail("{}: {}", path, e.what());
  }
}

// The network's hooks, and health probes run through this binary's `exec`.
runtime::ContainerHooks container_hooks(const RunContext& context, const std::shared_ptr<ContainerNetwork>& network,
                                        const std::string& id) {
  runtime::ContainerHooks hooks = ContainerNetwork::hooks(network);
  hooks.health_probe = [root = context.root, run_root = context.run_root, id](const runtime::HealthCheck& c) {
    return run_health_probe(root, run_root, id, c);
  };
  return hooks;
}

}  // namespace

Status start_existing(const RunContext& context, const std::string& name_or_id) {
  auto store = SLW_TRY(runtime::ContainerStore::open(context.run_root));
  runtime::ContainerRecord record = SLW_TRY(store.find(name_or_id));
  runtime::ContainerState state = SLW_TRY(store.current_state(record.id));
  if (state.status == runtime::ContainerStatus::kRunning || state.status == runtime::ContainerStatus::kRestarting)
    return {};
  oci::LayerLease layer_lease;
  if (!record.spec.rootfs.lower_dirs.empty()) {
    for (const auto& dir : record.spec.rootfs.lower_dirs)
      if (!fs::exists(dir)) return fail("container {}: its image's layers were removed", record.name);
    auto images = SLW_TRY(oci::ImageStore::open(context.root));
    layer_lease = SLW_TRY(images.lease_layers(record.spec.rootfs.lower_dirs));
  }
  auto [options, added_hosts] = SLW_TRY(load_start_options(store, record.id));
  runtime::NetworkSpec fresh;
  fresh.mode = record.spec.network.mode;
  record.spec.network = fresh;
  auto network = SLW_TRY(ContainerNetwork::prepare(context.root, store, options, record.name, record.spec));
  record.spec.network.extra_hosts += added_hosts;
  store.clear_stop_requested(record.id);
  // The supervisor inherits the layer lease, and takes over the network lease.
  SLW_TRY(runtime::run_detached(store, record, container_hooks(context, network, record.id)));
  network->hand_over();
  return {};
}

runtime::StdioTargets foreground_stdio(bool interactive, bool tty) {
  runtime::StdioTargets stdio;
  stdio.in = interactive ? STDIN_FILENO : -1;
  stdio.terminal = tty;
  stdio.size_from = ::isatty(STDIN_FILENO) ? STDIN_FILENO : ::isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
  return stdio;
}

Result<RunResult> run_container(const RunContext& context, RunOptions o) {
  if (o.image.empty() && o.rootfs.empty()) return fail("run: an IMAGE or --rootfs DIR is required");
  if (o.timeout_seconds && !(*o.timeout_seconds > 0))
    return fail("invalid --timeout {}: must be > 0", *o.timeout_seconds);
  runtime::RestartPolicy restart = SLW_TRY(runtime::parse_restart_policy(o.restart));
  if (restart.when != runtime::RestartPolicy::When::kNo) {
    if (o.remove) return fail("conflicting options: --restart and --rm");
    if (!o.detach) return fail("--restart {} applies to detached containers: add -d", o.restart);
  }

  std::vector<std::string> file_env;
  for (const auto& f : o.env_files) {
    std::string where = fmt::format("--env-file {}", f);
    std::string text = SLW_TRY(with_context(fs::read_file(f), where));
    auto entries = SLW_TRY(parse_env_file(text, where));
    file_env.insert(file_env.end(), entries.begin(), entries.end());
  }
  o.env.insert(o.env.begin(), file_env.begin(), file_env.end());
  std::string added_hosts;
  for (const auto& h : o.add_hosts) added_hosts += SLW_TRY(parse_add_host(h));
  if (!added_hosts.empty() && o.net.starts_with("container:"))
    return fail("--add-host cannot be used with --net {}: the container shares that one's /etc/hosts", o.net);

  auto store = SLW_TRY(runtime::ContainerStore::open(context.run_root));
  ContainerInputs in;
  in.id = random_hex_id();
  in.state_dir = store.dir(in.id);
  std::string data_root = container_data_root(context.root, store);
  in.data_dir = fs::join(data_root, in.id);
  in.cache_dir = fs::join(context.root, "cache");
  in.host_env = context.host_env;
  runtime::ContainerRecord record;
  // Held for as long as this process (or the detached supervisor it forks) lives: no `image rm`
  // can remove layers under a running container.
  oci::LayerLease layer_lease;
  std::optional<oci::Healthcheck> image_health;
  step_clock::mark("run: record store open");
  if (!o.image.empty()) {
    auto images = SLW_TRY(oci::ImageStore::open(context.root));
    ImageSource source = context.images;
    source.policy = SLW_TRY(parse_pull_policy(o.pull));
    oci::Image image = SLW_TRY(find_image(images, o.image, source));
    in.layer_dirs = SLW_TRY(images.unpacked_layers(image));
    layer_lease = SLW_TRY(images.lease_layers(in.layer_dirs));
    in.image = {image.config.entrypoint, image.config.cmd, image.config.env, image.config.working_dir,
                image.config.user};
    record.image = o.image;
    record.image_id = image.id;
    image_health = image.config.healthcheck;
  } else {
    std::error_code ec;
    o.rootfs = std::filesystem::absolute(o.rootfs, ec).string();
  }
  step_clock::mark("run: image found, layers leased");
  auto reader = layered_rootfs_reader(o.rootfs.empty() ? in.layer_dirs : std::vector<std::string>{o.rootfs});
  record.spec = SLW_TRY(build_container_spec(o, in, reader));
  // Before anything is reserved: the re-executed command starts over.
  if (runtime::can_reach_runtime_binary(record.spec))
    SLW_TRY(runtime::reexec_from_readonly_binary(context.argv));
  step_clock::mark("run: spec built");
  record.id = in.id;
  record.name = o.name.empty() ? in.id.substr(0, 12) : o.name;
  record.auto_remove = o.remove;
  record.open_stdin = o.interactive;
  record.restart = restart;
  record.health = SLW_TRY(resolve_health_check(o, image_health));
  record.data_dir = in.data_dir;
  record.logs = SLW_TRY(parse_log_opts(o.log_opts));
  if (o.timeout_seconds) record.timeout_ms = static_cast<int64_t>(std::llround(*o.timeout_seconds * 1000));
  // Released by its destructor on any error below, and by the hooks once the container ends.
  auto network = SLW_TRY(ContainerNetwork::prepare(context.root, store, o, record.name, record.spec));
  runtime::ContainerHooks hooks = container_hooks(context, network, record.id);
  step_clock::mark("run: network prepared");
  record.spec.network.extra_hosts += added_hosts;
  // Closed to other users from the root down: writable layers hold what images and containers made.
  SLW_TRY(fs::make_private_dir(fs::join(context.root, "containers")));
  SLW_TRY(fs::make_private_dir(data_root));
  record = SLW_TRY(store.create(std::move(record)));
  // Made once the record exists, so that removing the record (rm, gc) always takes it along.
  if (auto made = fs::make_dirs(record.data_dir, 0700); !made) {
    (void)store.remove(record);
    return std::unexpected(made.error());
  }
  if (!o.remove) {
    if (auto saved = save_start_options(store, record.id, o, added_hosts); !saved) {
      (void)store.remove(record);
      return std::unexpected(saved.error());
    }
  }

  step_clock::mark("run: record created");
  RunResult result{record.id, record.name, std::nullopt};
  if (o.detach) {
    if (auto st = runtime::run_detached(store, record, hooks); !st) {
      if (!o.remove) (void)store.remove(record);
      return std::unexpected(st.error());
    }
    network->hand_over();  // the supervisor owns the lease now
    return result;
  }
  if (context.before_foreground_start) context.before_foreground_start();
  auto exit = runtime::run_foreground(store, record, hooks, foreground_stdio(o.interactive, o.tty));
  if (!exit) {
    if (!o.remove) (void)store.remove(record);  // never started: nothing worth keeping
    return std::unexpected(exit.error());
  }
  result.exit = *exit;
  return result;
}

}  // namespace slipway::engine
