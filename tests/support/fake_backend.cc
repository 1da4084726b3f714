#include "tests/support/fake_backend.h"

#include <unistd.h>

#include <fmt/format.h>

namespace slipway::testing {

Result<FakeBackend::ContainerInfo> FakeBackend::create(const RunOptions& options) {
  ++next_;
  ContainerInfo c;
  c.id = fmt::format("{:064x}", next_);
  c.name = options.name.empty() ? c.id.substr(0, 12) : options.name;
  if (containers.count(c.name)) return fail("the container name \"{}\" is already in use", c.name);
  c.image = options.image;
  if (!options.image.empty() && !images.count(options.image)) return fail("no such image {}", options.image);
  c.running = true;
  c.pid = 100000 + next_;
  bool bridge = options.net != "none" && options.net != "host" && !options.net.starts_with("container:");
  if (bridge) {
    // The default bridge network is always there, as slipway's (made on first use).
    bool default_net = options.net == "default" || options.net == "bridge";
    if (!default_net && !networks.count(options.net)) return fail("no such network {}", options.net);
    c.network = options.net;
    c.ip = fmt::format("10.88.0.{}", next_ + 1);
    c.dns_names = {c.name};
    for (const auto& a : options.aliases) c.dns_names.push_back(a);
  }
  started.push_back(options);
  containers[c.name] = c;
  return c;
}

Result<int> FakeBackend::run(RunOptions options, int log_fd) {
  std::unique_lock lock(mu_);
  events.push_back("run " + options.name);
  auto c = SLW_TRY(create(options));
  // Unlocked: steps run in parallel, and a test may hold one until another has started.
  lock.unlock();
  for (const auto& piece : prints(options)) (void)!::write(log_fd, piece.data(), piece.size());
  int code = on_run(options);
  lock.lock();
  containers.erase(c.name);
  return code;
}

Result<pipeline::StepContainer> FakeBackend::start(RunOptions options, int, const std::string&) {
  std::unique_lock lock(mu_);
  events.push_back("start " + options.name);
  pipeline::StepContainer c;
  c.info = SLW_TRY(create(options));
  return c;
}

bool FakeBackend::running(pipeline::StepContainer& container) {
  std::unique_lock lock(mu_);
  auto it = containers.find(container.info.name);
  return it != containers.end() && it->second.running;
}

void FakeBackend::stop(pipeline::StepContainer& container, int log_fd) {
  std::unique_lock lock(mu_);
  (void)remove(container.info.name, log_fd);
}

Result<FakeBackend::ContainerInfo> FakeBackend::start_detached(RunOptions options, int, const std::string&) {
  std::unique_lock lock(mu_);
  events.push_back("start -d " + options.name);
  return create(options);
}

Result<std::optional<FakeBackend::ContainerInfo>> FakeBackend::find(const std::string& name) const {
  std::unique_lock lock(mu_);
  for (const auto& [n, c] : containers)
    if (n == name || c.id == name) return std::optional(c);
  return std::optional<ContainerInfo>();
}

Result<std::vector<FakeBackend::ContainerInfo>> FakeBackend::list() const {
  std::unique_lock lock(mu_);
  std::vector<ContainerInfo> out;
  for (const auto& [n, c] : containers) out.push_back(c);
  return out;
}

Status FakeBackend::remove(const std::string& name, int) {
  std::unique_lock lock(mu_);
  for (auto it = containers.begin(); it != containers.end(); ++it) {
    if (it->first != name && it->second.id != name) continue;
    events.push_back("remove " + it->first);
    containers.erase(it);
    return {};
  }
  return {};
}

Status FakeBackend::set_dns_names(const ContainerInfo& container, std::vector<std::string> names) {
  std::unique_lock lock(mu_);
  auto it = containers.find(container.name);
  if (it == containers.end()) return fail("no such container {}", container.name);
  events.push_back(fmt::format("names {} {}", container.name, fmt::join(names, ",")));
  it->second.dns_names = std::move(names);
  return {};
}

std::string FakeBackend::last_words(const std::string&) const { return ""; }

Status FakeBackend::ensure_network(const pipeline::ServiceSetSpec& set) {
  std::unique_lock lock(mu_);
  if (set.network != "host") networks.insert(set.network);
  return {};
}

Result<bool> FakeBackend::has_image(const std::string& image) const {
  std::unique_lock lock(mu_);
  return images.count(image) > 0;
}

Result<int> FakeBackend::build(const pipeline::BuildRequest& request, int) {
  std::unique_lock lock(mu_);
  events.push_back("build " + request.image);
  builds.push_back(request);
  lock.unlock();
  int code = on_build(request);
  lock.lock();
  if (code == 0) images.insert(request.image);
  return code;
}

Result<int> FakeBackend::push(const pipeline::PushRequest& request, int) {
  std::unique_lock lock(mu_);
  events.push_back("push " + request.destination);
  pushes.push_back(request);
  return images.count(request.image) ? 0 : 1;
}

const FakeBackend::ContainerInfo* FakeBackend::by_pid(pid_t pid) const {
  for (const auto& [n, c] : containers)
    if (c.pid == pid) return &c;
  return nullptr;
}

Status FakeBackend::wait_until_healthy(const std::string& id, double, const std::function<bool()>& alive) {
  std::unique_lock lock(mu_);
  for (const auto& [name, c] : containers) {
    if (c.id != id && name != id) continue;
    events.push_back("wait healthy " + name);
    if (!alive()) return fail("exited before it was healthy");
    std::string h = health(c);
    if (h != "healthy") return fail("health check failed 3 times in a row: {}", h);
    return {};
  }
  return fail("no such container {}", id);
}

Status FakeBackend::wait_until_ready(const pipeline::ReadinessProbe& probe, const std::string& host,
                                     pid_t netns_of, const std::function<bool()>& alive) {
  std::unique_lock lock(mu_);
  // The container probed: the one at that address, or (in a holder's namespace) the holder's
  // joiners, which share its localhost.
  const ContainerInfo* target = nullptr;
  if (netns_of > 0) {
    const ContainerInfo* holder = by_pid(netns_of);
    if (!holder) return fail("no container has pid {}", netns_of);
    for (size_t i = started.size(); i-- > 0;)
      if (started[i].net == "container:" + holder->name && containers.count(started[i].name)) {
        target = &containers.at(started[i].name);
        break;
      }
  } else {
    for (const auto& [n, c] : containers)
      if (c.ip == host || (host == "127.0.0.1" && c.network.empty())) target = &c;
  }
  std::string where = fmt::format("{}:{}", host, probe.port);
  events.push_back("probe " + (target ? target->name : where));
  if (!alive()) return fail("exited before it was ready");
  if (!target || !serves(*target, host))
    return fail("not ready after {}s: connect {}: Connection refused", probe.timeout_seconds, where);
  return {};
}

void FakeBackend::clean_up_interrupted(const std::string& marker) {
  std::unique_lock lock(mu_);
  events.push_back("clean up " + marker);
  std::erase_if(containers, [&](const auto& kv) { return kv.first.find(marker) != std::string::npos; });
}

}  // namespace slipway::testing
