// linux.resources of config.json, and `update --resources` documents: limits for the container's
// cgroup.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/oci_config.h"
#include "engine/oci_json_field.h"

namespace slipway::engine {
namespace oci_json {
namespace {

// One rule of linux.resources.devices as the v1 devices controller reads it: "allow c 10:229 rwm".
Result<std::string> device_rule(const Field& d) {
  SLW_TRY(d.object());
  bool allow = SLW_TRY(d.at("allow").boolean());
  std::string type = "a";
  if (auto t = d.member("type")) type = SLW_TRY(t->string());
  if (type != "a" && type != "c" && type != "b")
    return std::unexpected(d.at("type").error(fmt::format("unknown device type (a, c or b) \"{}\"", type)));
  std::string access = "rwm";
  if (auto a = d.member("access")) access = SLW_TRY(a->string());
  if (access.empty() || access.find_first_not_of("rwm") != std::string::npos)
    return std::unexpected(d.at("access").error(fmt::format("\"{}\" is not made of r, w and m", access)));
  auto number = [&](const char* key) -> Result<std::string> {
    auto f = d.member(key);
    if (!f) return std::string("*");
    int64_t n = SLW_TRY(f->integer());
    return n < 0 ? std::string("*") : std::to_string(n);
  };
  std::string what = type == "a" ? "a" : fmt::format("{} {}:{} {}", type, SLW_TRY(number("major")), SLW_TRY(number("minor")), access);
  return fmt::format("{} {}", allow ? "allow" : "deny", what);
}

}  // namespace

Status read_resources(const Field& r, OciBundle& b) {
  SLW_TRY(r.object());
  runtime::ResourceSpec& res = b.spec.resources;
  auto warn = [&](const std::string& field) {
    b.warnings.push_back(fmt::format("{}: not supported by slipway yet, ignored", field));
  };
  if (auto memory = r.member("memory")) {
    SLW_TRY(memory->object());
    if (auto limit = memory->member("limit")) {
      int64_t v = SLW_TRY(limit->integer());
      if (v > 0) res.memory_bytes = v;  // -1: unlimited
    }
    for (const char* other : {"reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller"})
      if (memory->find(other)) warn(memory->join(other));
  }
  if (auto cpu = r.member("cpu")) {
    SLW_TRY(cpu->object());
    if (auto q = cpu->member("quota")) {
      int64_t quota = SLW_TRY(q->integer());
      if (quota > 0) res.cpu_quota_us = quota;
    }
    if (auto p = cpu->member("period")) {
      uint64_t period = SLW_TRY(p->unsigned_integer());
      if (period > 0) res.cpu_period_us = period;
    }
    if (auto cpus = cpu->member("cpus")) res.cpuset_cpus = SLW_TRY(cpus->string());
    if (auto mems = cpu->member("mems")) res.cpuset_mems = SLW_TRY(mems->string());
    if (auto shares = cpu->member("shares")) {
      uint64_t v = SLW_TRY(shares->unsigned_integer());
      if (v != 0) res.cpu_shares = v;  // 0: the kernel's default
    }
    for (const char* other : {"realtimeRuntime", "realtimePeriod", "idle"})
      if (const json* v = cpu->find(other); v && !(v->is_string() && v->get<std::string>().empty())) warn(cpu->join(other));
  }
  if (auto pids = r.member("pids")) {
    SLW_TRY(pids->object());
    if (auto limit = pids->member("limit")) {
      int64_t v = SLW_TRY(limit->integer());
      if (v > 0) res.pids = v;
    }
  }
  if (auto devices = r.member("devices")) {
    for (const Field& d : SLW_TRY(devices->array())) res.device_rules.push_back(SLW_TRY(device_rule(d)));
  }
  for (const char* other : {"hugepageLimits", "blockIO", "network", "rdma", "unified"})
    if (const json* v = r.find(other); v && !v->empty()) warn(r.join(other));
  return {};
}

}  // namespace oci_json

using oci_json::Field;

Result<runtime::ResourceSpec> parse_oci_resources(std::string_view text, std::vector<std::string>& warnings) {
  OciBundle b;
  SLW_TRY(oci_json::read_document(text, "resources", "", [&](const Field& doc) { return oci_json::read_resources(doc, b); }));
  warnings = std::move(b.warnings);
  if (!b.spec.resources.device_rules.empty()) warnings.push_back("resources.devices: not changed by update");
  return b.spec.resources;
}

}  // namespace slipway::engine
