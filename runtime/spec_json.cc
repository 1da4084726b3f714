#include "runtime/spec_json.h"

namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& o) {
    if (o) j = *o;
    else j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& o) {
    if (j.is_null()) o.reset();
    else o = j.get<T>();
  }
};
}  // namespace nlohmann

namespace slipway::runtime {

NLOHMANN_JSON_SERIALIZE_ENUM(NetworkMode, {{NetworkMode::kNone, "none"},
                                           {NetworkMode::kHost, "host"},
                                           {NetworkMode::kJoin, "join"}})
NLOHMANN_JSON_SERIALIZE_ENUM(SeccompMode, {{SeccompMode::kDefault, "default"},
                                           {SeccompMode::kUnconfined, "unconfined"},
                                           {SeccompMode::kFile, "file"}})
NLOHMANN_JSON_SERIALIZE_ENUM(ContainerStatus, {{ContainerStatus::kCreated, "created"},
                                               {ContainerStatus::kRunning, "running"},
                                               {ContainerStatus::kRestarting, "restarting"},
                                               {ContainerStatus::kExited, "exited"}})

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RootfsSpec, lower_dirs, upper_dir, work_dir, writable_size,
                                                writable_dir, plain_dir,
                                                read_only)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BindMount, source, target, read_only, copy_on_write,
                                                upper_dir, work_dir)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NetworkSpec, mode, join_path, resolv_conf,
                                                extra_hosts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ProcessSpec, args, env, cwd, uid, gid,
                                                additional_gids, terminal)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SecuritySpec, capabilities, seccomp, seccomp_file,
                                                no_new_privileges)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ResourceSpec, memory_bytes, cpus, pids, pids_is_default)

void to_json(nlohmann::json& j, const HealthProbeResult& r) {
  j = {{"start", r.start}, {"end", r.end}, {"exit_code", r.exit_code}, {"output", r.output}};
}

void from_json(const nlohmann::json& j, HealthProbeResult& r) {
  r.start = j.value("start", "");
  r.end = j.value("end", "");
  r.exit_code = j.value("exit_code", 0);
  r.output = j.value("output", "");
}

void to_json(nlohmann::json& j, const HealthState& h) {
  j = {{"status", h.status}, {"failing_streak", h.failing_streak}, {"log", h.log}};
}

void from_json(const nlohmann::json& j, HealthState& h) {
  h.status = j.value("status", "starting");
  h.failing_streak = j.value("failing_streak", 0);
  h.log = j.value("log", std::vector<HealthProbeResult>{});
}

void to_json(nlohmann::json& j, const HealthCheck& h) {
  j = {{"test", h.test},
       {"interval_ms", h.interval.count()},
       {"timeout_ms", h.timeout.count()},
       {"start_period_ms", h.start_period.count()},
       {"start_interval_ms", h.start_interval.count()},
       {"retries", h.retries}};
}

void from_json(const nlohmann::json& j, HealthCheck& h) {
  HealthCheck d;
  h.test = j.value("test", d.test);
  h.interval = std::chrono::milliseconds(j.value("interval_ms", d.interval.count()));
  h.timeout = std::chrono::milliseconds(j.value("timeout_ms", d.timeout.count()));
  h.start_period = std::chrono::milliseconds(j.value("start_period_ms", d.start_period.count()));
  h.start_interval = std::chrono::milliseconds(j.value("start_interval_ms", d.start_interval.count()));
  h.retries = j.value("retries", d.retries);
}

void to_json(nlohmann::json& j, const ContainerSpec& s) {
  j = {{"id", s.id},           {"hostname", s.hostname}, {"state_dir", s.state_dir}, {"cache_dir", s.cache_dir},
       {"rootfs", s.rootfs},   {"binds", s.binds},       {"process", s.process},
       {"network", s.network}, {"security", s.security}, {"resources", s.resources},
       {"init", s.init}};
}

void from_json(const nlohmann::json& j, ContainerSpec& s) {
  ContainerSpec d;
  s.id = j.value("id", d.id);
  s.hostname = j.value("hostname", d.hostname);
  s.state_dir = j.value("state_dir", d.state_dir);
  s.cache_dir = j.value("cache_dir", d.cache_dir);
  s.rootfs = j.value("rootfs", d.rootfs);
  s.binds = j.value("binds", d.binds);
  s.process = j.value("process", d.process);
  s.network = j.value("network", d.network);
  s.security = j.value("security", d.security);
  s.resources = j.value("resources", d.resources);
  s.init = j.value("init", d.init);
}

void to_json(nlohmann::json& j, const ContainerRecord& r) {
  j = {{"id", r.id},           {"name", r.name},       {"image", r.image},
       {"image_id", r.image_id}, {"created", r.created}, {"auto_remove", r.auto_remove},
       {"open_stdin", r.open_stdin}, {"restart", {{"name", to_string(r.restart)}, {"max_retries", r.restart.max_retries}}},
       {"timeout_ms", r.timeout_ms}, {"health", r.health}, {"logs", {{"max_bytes", r.logs.max_bytes}, {"max_files", r.logs.max_files}}},
       {"creator_pid", r.creator_pid}, {"creator_start_time", r.creator_start_time}, {"data_dir", r.data_dir}, {"spec", r.spec}};
}

void from_json(const nlohmann::json& j, ContainerRecord& r) {
  r.id = j.at("id").get<std::string>();
  r.name = j.value("name", "");
  r.image = j.value("image", "");
  r.image_id = j.value("image_id", "");
  r.created = j.value("created", "");
  r.auto_remove = j.value("auto_remove", false);
  r.open_stdin = j.value("open_stdin", false);
  if (auto restart = j.find("restart"); restart != j.end() && restart->is_object()) {
    r.restart = parse_restart_policy(restart->value("name", "no")).value_or(RestartPolicy{});
    r.restart.max_retries = restart->value("max_retries", 0);
  }
  r.timeout_ms = j.value("timeout_ms", std::optional<int64_t>{});
  r.health = j.value("health", std::optional<HealthCheck>{});
  r.data_dir = j.value("data_dir", "");
  if (auto logs = j.find("logs"); logs != j.end() && logs->is_object()) {
    r.logs.max_bytes = logs->value("max_bytes", r.logs.max_bytes);
    r.logs.max_files = logs->value("max_files", r.logs.max_files);
  }
  r.creator_pid = j.value("creator_pid", 0);
  r.creator_start_time = j.value("creator_start_time", uint64_t{0});
  r.spec = j.at("spec").get<ContainerSpec>();
}

void to_json(nlohmann::json& j, const ContainerState& s) {
  j = {{"status", s.status},
       {"pid", s.pid},
       {"pid_start_time", s.pid_start_time},
       {"supervisor_pid", s.supervisor_pid},
       {"supervisor_start_time", s.supervisor_start_time},
       {"exit_code", s.exit_code},
       {"oom_killed", s.oom_killed},
       {"timed_out", s.timed_out},
       {"started_at", s.started_at},
       {"finished_at", s.finished_at},
       {"error", s.error},
       {"restart_count", s.restart_count}};
}

void from_json(const nlohmann::json& j, ContainerState& s) {
  s.status = j.value("status", ContainerStatus::kCreated);
  s.pid = j.value("pid", 0);
  s.pid_start_time = j.value("pid_start_time", uint64_t{0});
  s.supervisor_pid = j.value("supervisor_pid", 0);
  s.supervisor_start_time = j.value("supervisor_start_time", uint64_t{0});
  s.exit_code = j.value("exit_code", 0);
  s.oom_killed = j.value("oom_killed", false);
  s.timed_out = j.value("timed_out", false);
  s.started_at = j.value("started_at", "");
  s.finished_at = j.value("finished_at", "");
  s.error = j.value("error", "");
  s.restart_count = j.value("restart_count", 0);
}

}  // namespace slipway::runtime
