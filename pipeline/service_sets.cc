#include "pipeline/service_sets.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "base/fs.h"
#include "pipeline/pipeline_run.h"

namespace slipway::pipeline {
namespace {

std::string absolute_under(const std::string& base, const std::string& path) {
  return path.starts_with("/") ? path : fs::join(base, path);
}

}  // namespace

RunOptions service_run_options(const ServiceSetSpec& set, const ServiceSpec& service,
                               const std::string& base_dir) {
  RunOptions o;
  o.image = service.image;
  o.name = service.name;
  o.hostname = service.name;
  o.net = set.network;
  o.command = service.command;
  for (const auto& [k, v] : service.env) o.env.push_back(k + "=" + v);
  for (const auto& s : service.snapshots)
    o.volumes.push_back(absolute_under(base_dir, s.source) + ":" + s.target + ":O");
  if (const auto& h = service.healthcheck) {
    auto ms = [](double seconds) { return fmt::format("{}ms", static_cast<int64_t>(std::llround(seconds * 1000))); };
    o.health_cmd = h->test;
    o.health_interval = ms(h->interval_seconds);
    o.health_timeout = ms(h->timeout_seconds);
    o.health_retries = h->retries;
    if (h->start_period_seconds > 0) {
      o.health_start_period = ms(h->start_period_seconds);
      o.health_start_interval = o.health_interval;  // a readiness probe: no slower while starting
    }
  }
  return o;
}

std::optional<ReadinessProbe> service_probe(const ServiceSpec& service) {
  if (service.ready) {
    ReadinessProbe p = *service.ready;
    if (p.port == 0) p.port = service.port;
    if (p.port != 0) return p;
  }
  if (service.port == 0) return std::nullopt;
  ReadinessProbe p;
  p.port = service.port;
  return p;
}

std::string host_snapshot_dir(const std::string& root) {
  const char* env = std::getenv("SLIPWAY_SNAPSHOT_DIR");
  return env && *env ? std::string(env) : fs::join(root, "snapshots");
}

Result<std::string> resolve_snapshot_source(const std::string& source, const std::string& base_dir,
                                            const std::string& host_dir) {
  if (!source.starts_with('/')) return fs::resolve_in_root(base_dir, source);
  // A pipeline file comes with every pushed branch: it may not pick host directories at will.
  std::filesystem::path dir = std::filesystem::path(host_dir).lexically_normal();
  std::filesystem::path rel = std::filesystem::path(source).lexically_normal().lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..")
    return fail("an absolute source must be under the host's snapshot directory {} (SLIPWAY_SNAPSHOT_DIR)", host_dir);
  return fs::resolve_in_root(host_dir, rel.string());
}

Status ServiceSets::start_service(const ServiceSetSpec& set, const ServiceSpec& given) {
  ServiceSpec service = given;
  for (auto& snap : service.snapshots) {
    snap.source = SLW_TRY_CTX(resolve_snapshot_source(snap.source, base_dir_, host_dir_),
                              "snapshot {} of service {}", snap.source, service.name);
  }
  RunOptions options = service_run_options(set, service, base_dir_);
  options.pull = pull_;
  ContainerInfo info = SLW_TRY(backend_.start_detached(options, log_fd_, log_path_));
  auto alive = [&] {
    auto now = backend_.find(info.id);
    return now && *now && (*now)->running && !pipeline_interrupted();
  };
  if (service.healthcheck) {
    if (auto healthy = backend_.wait_until_healthy(info.id, service.healthcheck->wait_seconds, alive); !healthy) {
      std::string last = backend_.last_words(info.id);
      return fail("{}{}{}", healthy.error().message(), last.empty() ? "" : "; its last words: ", last);
    }
  }
  auto probe = service_probe(service);
  if (!probe) return {};
  std::string host = set.network == "host" ? "127.0.0.1" : info.ip;
  if (auto ready = backend_.wait_until_ready(*probe, host, 0, alive); !ready) {
    std::string last = backend_.last_words(info.id);
    return fail("{}{}{}", ready.error().message(), last.empty() ? "" : "; its last words: ", last);
  }
  return {};
}

Status ServiceSets::up(const ServiceSetSpec& set, bool fresh) {
  SLW_TRY_CTX(backend_.ensure_network(set), "service set {}: network {}", set.name, set.network);
  for (const auto& service : set.services) {
    auto existing = SLW_TRY(backend_.find(service.name));
    bool restart = fresh && !service.snapshots.empty();
    if (existing && existing->running && !restart) continue;
    if (existing) SLW_TRY_CTX(backend_.remove(service.name, log_fd_), "service {}", service.name);
    SLW_TRY_CTX(start_service(set, service), "service {}", service.name);
  }
  return {};
}

Status ServiceSets::down(const ServiceSetSpec& set) {
  for (const auto& service : set.services)
    SLW_TRY_CTX(backend_.remove(service.name, log_fd_), "service {}", service.name);
  return {};
}

Result<std::vector<ServiceStatus>> ServiceSets::status(const ServiceSetSpec& set) const {
  std::vector<ServiceStatus> out;
  for (const auto& service : set.services) {
    ServiceStatus s;
    s.name = service.name;
    s.container = SLW_TRY(backend_.find(service.name));
    if (s.container && s.container->running && service.port) {
      std::string host = set.network == "host" ? "127.0.0.1" : s.container->ip;
      s.address = fmt::format("{}:{}", host, service.port);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace slipway::pipeline
