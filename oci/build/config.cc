#include "oci/build/config.h"

#include <time.h>

#include <nlohmann/json.hpp>

namespace slipway::oci {

namespace {

using json = nlohmann::json;  // std::map underneath: keys come out sorted

std::string env_key(std::string_view kv) {
  return std::string(kv.substr(0, kv.find('=')));
}

// Readers that turn a wrong JSON type into an Error naming the field.
Result<std::string> get_string(const json& j, const char* key, std::string_view where) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return fail("{}.{}: not a string", where, key);
  return j[key].get<std::string>();
}

Result<std::vector<std::string>> get_strings(const json& j, const char* key,
                                             std::string_view where) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array()) return fail("{}.{}: not an array", where, key);
  for (const auto& v : j[key]) {
    if (!v.is_string()) return fail("{}.{}: not an array of strings", where, key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

// {"80/tcp": {}}: Docker's encoding of a set.
Result<std::set<std::string>> get_set(const json& j, const char* key, std::string_view where) {
  std::set<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_object()) return fail("{}.{}: not an object", where, key);
  for (const auto& [k, v] : j[key].items()) out.insert(k);
  return out;
}

Result<RuntimeConfig> parse_runtime_config(const json& c) {
  RuntimeConfig r;
  if (c.is_null()) return r;
  if (!c.is_object()) return fail("config: not an object");
  const std::string_view w = "config";
  r.user = SLW_TRY(get_string(c, "User", w));
  r.exposed_ports = SLW_TRY(get_set(c, "ExposedPorts", w));
  r.env = SLW_TRY(get_strings(c, "Env", w));
  r.entrypoint = SLW_TRY(get_strings(c, "Entrypoint", w));
  r.cmd = SLW_TRY(get_strings(c, "Cmd", w));
  r.volumes = SLW_TRY(get_set(c, "Volumes", w));
  r.working_dir = SLW_TRY(get_string(c, "WorkingDir", w));
  if (c.contains("Labels") && !c["Labels"].is_null()) {
    if (!c["Labels"].is_object()) return fail("config.Labels: not an object");
    for (const auto& [k, v] : c["Labels"].items()) {
      if (!v.is_string()) return fail("config.Labels.{}: not a string", k);
      r.labels[k] = v.get<std::string>();
    }
  }
  r.stop_signal = SLW_TRY(get_string(c, "StopSignal", w));
  r.healthcheck = SLW_TRY(parse_healthcheck(c, "config.Healthcheck"));
  r.on_build = SLW_TRY(get_strings(c, "OnBuild", w));
  r.shell = SLW_TRY(get_strings(c, "Shell", w));
  r.args_escaped =
      c.contains("ArgsEscaped") && c["ArgsEscaped"].is_boolean() && c["ArgsEscaped"].get<bool>();
  return r;
}

json set_json(const std::set<std::string>& s) {
  json out = json::object();
  for (const auto& k : s) out[k] = json::object();
  return out;
}

json runtime_json(const RuntimeConfig& r) {
  json c = json::object();
  if (!r.user.empty()) c["User"] = r.user;
  if (!r.exposed_ports.empty()) c["ExposedPorts"] = set_json(r.exposed_ports);
  if (!r.env.empty()) c["Env"] = r.env;
  if (!r.entrypoint.empty()) c["Entrypoint"] = r.entrypoint;
  if (!r.cmd.empty()) c["Cmd"] = r.cmd;
  if (!r.volumes.empty()) c["Volumes"] = set_json(r.volumes);
  if (!r.working_dir.empty()) c["WorkingDir"] = r.working_dir;
  if (!r.labels.empty()) c["Labels"] = r.labels;
  if (!r.stop_signal.empty()) c["StopSignal"] = r.stop_signal;
  if (r.healthcheck) {
    const Healthcheck& h = *r.healthcheck;
    json hj = json::object();
    if (!h.test.empty()) hj["Test"] = h.test;
    if (h.interval_ns) hj["Interval"] = h.interval_ns;
    if (h.timeout_ns) hj["Timeout"] = h.timeout_ns;
    if (h.start_period_ns) hj["StartPeriod"] = h.start_period_ns;
    if (h.start_interval_ns) hj["StartInterval"] = h.start_interval_ns;
    if (h.retries) hj["Retries"] = h.retries;
    c["Healthcheck"] = std::move(hj);
  }
  if (!r.on_build.empty()) c["OnBuild"] = r.on_build;
  if (!r.shell.empty()) c["Shell"] = r.shell;
  if (r.args_escaped) c["ArgsEscaped"] = true;
  return c;
}

}  // namespace

const std::vector<std::string>& default_shell() {
  static const std::vector<std::string> kShell = {"/bin/sh", "-c"};
  return kShell;
}

std::optional<std::string> RuntimeConfig::env_value(std::string_view key) const {
  for (const auto& kv : env) {
    if (env_key(kv) == key) {
      auto eq = kv.find('=');
      return eq == std::string::npos ? std::string() : kv.substr(eq + 1);
    }
  }
  return std::nullopt;
}

void RuntimeConfig::set_env(std::string_view key, std::string_view value) {
  std::string kv = fmt::format("{}={}", key, value);
  for (auto& e : env) {
    if (env_key(e) == key) {
      e = std::move(kv);
      return;
    }
  }
  env.push_back(std::move(kv));
}

bool BuildConfig::operator==(const BuildConfig& o) const {
  return platform.str() == o.platform.str() && os_version == o.os_version && created == o.created &&
         author == o.author && config == o.config && diff_ids == o.diff_ids && history == o.history;
}

Result<BuildConfig> parse_build_config(std::string_view text) try {
  json j = json::parse(text);
  if (!j.is_object()) return fail("image config: not a JSON object");
  BuildConfig out;
  const std::string_view w = "image config";
  out.platform.architecture = SLW_TRY(get_string(j, "architecture", w));
  out.platform.os = SLW_TRY(get_string(j, "os", w));
  out.platform.variant = SLW_TRY(get_string(j, "variant", w));
  out.os_version = SLW_TRY(get_string(j, "os.version", w));
  out.created = SLW_TRY(get_string(j, "created", w));
  out.author = SLW_TRY(get_string(j, "author", w));
  if (j.contains("config")) out.config = SLW_TRY(parse_runtime_config(j["config"]));
  if (j.contains("rootfs") && j["rootfs"].is_object())
    out.diff_ids = SLW_TRY(get_strings(j["rootfs"], "diff_ids", "image config rootfs"));
  if (j.contains("history") && j["history"].is_array()) {
    for (const auto& h : j["history"]) {
      if (!h.is_object()) return fail("image config: history entry is not an object");
      HistoryEntry e;
      e.created = SLW_TRY(get_string(h, "created", "history"));
      e.created_by = SLW_TRY(get_string(h, "created_by", "history"));
      e.author = SLW_TRY(get_string(h, "author", "history"));
      e.comment = SLW_TRY(get_string(h, "comment", "history"));
      e.empty_layer = h.contains("empty_layer") && h["empty_layer"].is_boolean() &&
                      h["empty_layer"].get<bool>();
      out.history.push_back(std::move(e));
    }
  }
  return out;
} catch (const json::exception& e) {
  return fail("image config: {}", e.what());
}

std::string to_canonical_json(const BuildConfig& c) {
  json j = json::object();
  j["architecture"] = c.platform.architecture;
  j["os"] = c.platform.os;
  if (!c.platform.variant.empty()) j["variant"] = c.platform.variant;
  if (!c.os_version.empty()) j["os.version"] = c.os_version;
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["config"] = runtime_json(c.config);
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", c.diff_ids}};
  json history = json::array();
  for (const auto& h : c.history) {
    json e = json::object();
    if (!h.created.empty()) e["created"] = h.created;
    if (!h.created_by.empty()) e["created_by"] = h.created_by;
    if (!h.author.empty()) e["author"] = h.author;
    if (!h.comment.empty()) e["comment"] = h.comment;
    if (h.empty_layer) e["empty_layer"] = true;
    history.push_back(std::move(e));
  }
  if (!history.empty()) j["history"] = std::move(history);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string rfc3339_utc(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace slipway::oci
