#include "engine/container_view.h"

#include <algorithm>
#include <map>

#include "netns/network_store.h"

namespace slipway::engine {

using json = nlohmann::json;

namespace {

std::string docker_status(const runtime::ContainerState& s) {
  return std::string(runtime::to_string(s.status));
}

// Docker's State.Health: null without a health check; "starting" until the monitor wrote one.
json health_json(const runtime::ContainerRecord& r, const runtime::ContainerState& s) {
  if (!r.health) return nullptr;
  runtime::HealthState h = s.health.value_or(runtime::HealthState{});
  if (s.status != runtime::ContainerStatus::kRunning) h.status = "unhealthy";
  json log = json::array();
  for (const auto& e : h.log)
    log.push_back({{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
  return {{"Status", h.status}, {"FailingStreak", h.failing_streak}, {"Log", log}};
}

// "healthy", "unhealthy", "starting", or "none" without a health check (ps --filter health=).
std::string health_status(const runtime::ContainerRecord& r, const runtime::ContainerState& s) {
  if (!r.health) return "none";
  return health_json(r, s)["Status"].get<std::string>();
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

}  // namespace

std::vector<ContainerAddress> container_addresses(const std::string& root, std::string_view container_id) {
  std::vector<ContainerAddress> out;
  auto networks = netns::NetworkStore(root).list();
  if (!networks) return out;
  for (const auto& network : *networks) {
    auto leases = netns::Ipam(root, network).leases();
    if (!leases) continue;
    for (const auto& l : *leases)
      if (l.owner == container_id) out.push_back({network, l});
  }
  return out;
}

std::time_t parse_rfc3339(const std::string& text) {
  std::tm t{};
  if (text.size() < 19 || !::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &t)) return -1;
  return ::timegm(&t);
}

std::string human_duration(int64_t seconds) {
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = minutes / 60;
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", hours / 24 / 365);
}

json docker_inspect_fields(const runtime::ContainerRecord& r, const runtime::ContainerState& s,
                           const std::vector<ContainerAddress>& addresses) {
  const auto& args = r.spec.process.args;
  json networks = json::object();
  for (const auto& a : addresses) {
    json aliases = json::array();
    for (const auto& n : a.lease.names) aliases.push_back(n);
    networks[a.network.name] = {{"IPAddress", a.lease.ip.to_string()},
                                {"Gateway", a.network.gateway.to_string()},
                                {"IPPrefixLen", a.network.subnet.prefix},
                                {"Aliases", aliases}};
  }
  const ContainerAddress* first = addresses.empty() ? nullptr : &addresses.front();
  bool running = s.status == runtime::ContainerStatus::kRunning;
  return {{"Id", r.id},
          {"Created", r.created},
          {"Name", "/" + r.name},
          {"Path", args.empty() ? "" : args.front()},
          {"Args", args.empty() ? std::vector<std::string>{} : std::vector<std::string>(args.begin() + 1, args.end())},
          {"Image", r.image_id},
          {"State",
           {{"Status", docker_status(s)},
            {"Running", running},
            {"Paused", false},
            {"Restarting", s.status == runtime::ContainerStatus::kRestarting},
            {"OOMKilled", s.oom_killed},
            {"Dead", false},
            {"Pid", running ? s.pid : 0},
            {"ExitCode", s.exit_code},
            {"Error", s.error},
            {"StartedAt", s.started_at},
            {"FinishedAt", s.finished_at},
            {"Health", health_json(r, s)}}},
          {"Config",
           {{"Hostname", r.spec.hostname},
            {"Image", r.image},
            {"Env", r.spec.process.env},
            {"Cmd", args},
            {"WorkingDir", r.spec.process.cwd},
            {"User", fmt::format("{}:{}", r.spec.process.uid, r.spec.process.gid)},
            {"Tty", r.spec.process.terminal},
            {"OpenStdin", r.open_stdin},
            {"Labels", json::object()}}},
          {"RestartCount", s.restart_count},
          {"HostConfig",
           {{"AutoRemove", r.auto_remove},
            {"NetworkMode", first ? first->network.name : "none"},
            {"RestartPolicy", {{"Name", runtime::to_string(r.restart)}, {"MaximumRetryCount", r.restart.max_retries}}}}},
          {"NetworkSettings",
           {{"IPAddress", first ? first->lease.ip.to_string() : ""},
            {"Gateway", first ? first->network.gateway.to_string() : ""},
            {"IPPrefixLen", first ? first->network.subnet.prefix : 0},
            {"Networks", networks}}}};
}

json docker_ps_fields(const runtime::ContainerRecord& r, const runtime::ContainerState& s,
                      const std::vector<ContainerAddress>& addresses, std::time_t now) {
  std::string status = "Created";
  if (s.status == runtime::ContainerStatus::kRunning) {
    std::time_t started = parse_rfc3339(s.started_at);
    status = "Up " + human_duration(started < 0 ? 0 : now - started);
    if (r.health) {
      std::string h = health_status(r, s);
      status += h == "starting" ? " (health: starting)" : " (" + h + ")";
    }
  } else if (s.status == runtime::ContainerStatus::kExited || s.status == runtime::ContainerStatus::kRestarting) {
    std::time_t finished = parse_rfc3339(s.finished_at);
    bool restarting = s.status == runtime::ContainerStatus::kRestarting;
    status = fmt::format("{} ({}) {} ago", restarting ? "Restarting" : "Exited", s.exit_code,
                         human_duration(finished < 0 ? 0 : now - finished));
  }
  std::time_t created = parse_rfc3339(r.created);
  std::string created_at;
  if (created >= 0) {
    std::tm t{};
    ::gmtime_r(&created, &t);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &t);
    created_at = buf;
  }
  std::vector<std::string> network_names;
  for (const auto& a : addresses) network_names.push_back(a.network.name);
  std::string command;
  for (const auto& a : r.spec.process.args) command += (command.empty() ? "" : " ") + a;
  return {{"ID", r.id.substr(0, 12)},
          {"Image", r.image.empty() ? r.spec.rootfs.plain_dir : r.image},
          {"Command", "\"" + command + "\""},
          {"CreatedAt", created_at},
          {"RunningFor", human_duration(created < 0 ? 0 : now - created) + " ago"},
          {"Status", status},
          {"State", docker_status(s)},
          {"Names", r.name},
          {"Networks", join(network_names, ",")}};
}

Result<PsFilter> PsFilter::parse(const std::vector<std::string>& filters) {
  static const std::vector<std::string> kKeys = {"name", "id", "status", "health", "network", "ancestor"};
  PsFilter f;
  for (const auto& text : filters) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("--filter {}: expected KEY=VALUE (keys: {})", text, join(kKeys, ", "));
    std::string key = text.substr(0, eq), value = text.substr(eq + 1);
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
      return fail("--filter {}: unknown filter {} (keys: {})", text, key, join(kKeys, ", "));
    if (key == "status" && value != "created" && value != "running" && value != "restarting" && value != "exited")
      return fail("--filter {}: status is created, running, restarting or exited", text);
    if (key == "health" && value != "starting" && value != "healthy" && value != "unhealthy" && value != "none")
      return fail("--filter {}: health is starting, healthy, unhealthy or none", text);
    f.filters_.emplace_back(key, value);
  }
  return f;
}

bool PsFilter::has_status() const {
  return std::any_of(filters_.begin(), filters_.end(), [](const auto& f) { return f.first == "status"; });
}

bool PsFilter::matches(const runtime::ContainerRecord& r, const runtime::ContainerState& s,
                       const std::vector<ContainerAddress>& addresses) const {
  std::map<std::string, bool> any_of_key;  // key -> whether one of its filters matched
  for (const auto& [key, value] : filters_) {
    bool hit = false;
    if (key == "name") {
      hit = r.name.find(value) != std::string::npos;
    } else if (key == "id") {
      hit = r.id.starts_with(value);
    } else if (key == "status") {
      hit = runtime::to_string(s.status) == value;
    } else if (key == "health") {
      hit = health_status(r, s) == value;
    } else if (key == "network") {
      hit = std::any_of(addresses.begin(), addresses.end(), [&](const auto& a) { return a.network.name == value; });
    } else if (key == "ancestor") {
      hit = r.image == value || r.image_id == value || (!value.empty() && r.image_id.starts_with("sha256:" + value));
    }
    any_of_key[key] = any_of_key[key] || hit;
  }
  return std::all_of(any_of_key.begin(), any_of_key.end(), [](const auto& k) { return k.second; });
}

}  // namespace slipway::engine
