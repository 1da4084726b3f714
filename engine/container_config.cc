#include "engine/container_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <filesystem>

#include "base/fs.h"
#include "base/hash.h"
#include "runtime/capabilities.h"

namespace slipway::engine {

namespace {
constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string_view env_key(std::string_view kv) { return kv.substr(0, kv.find('=')); }

void set_env(std::vector<std::string>& env, std::string kv) {
  for (auto& e : env)
    if (env_key(e) == env_key(kv)) {
      e = std::move(kv);
      return;
    }
  env.push_back(std::move(kv));
}

bool has_env(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (env_key(e) == key) return true;
  return false;
}
}  // namespace

std::vector<std::string> resolve_args(const ImageDefaults& image, const RunOptions& options) {
  std::vector<std::string> args;
  if (options.entrypoint) {
    if (!options.entrypoint->empty()) args.push_back(*options.entrypoint);
    args.insert(args.end(), options.command.begin(), options.command.end());
    return args;
  }
  args = image.entrypoint;
  const auto& cmd = options.command.empty() ? image.cmd : options.command;
  args.insert(args.end(), cmd.begin(), cmd.end());
  return args;
}

std::vector<std::string> merge_env(const std::vector<std::string>& image_env,
                                   const std::vector<std::string>& flags,
                                   const std::map<std::string, std::string>& host_env) {
  std::vector<std::string> env = image_env;
  for (const auto& f : flags) {
    if (f.find('=') != std::string::npos) {
      set_env(env, f);
    } else if (auto it = host_env.find(f); it != host_env.end()) {
      set_env(env, f + "=" + it->second);
    }
  }
  return env;
}

Result<std::vector<std::string>> parse_env_file(std::string_view text, std::string_view where) {
  std::vector<std::string> env;
  int line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    std::string_view key = line.substr(0, line.find('='));
    if (key.empty()) return fail("{}:{}: the variable has no name", where, line_number);
    if (key.find_first_of(" \t") != std::string_view::npos)
      return fail("{}:{}: variable name \"{}\" contains whitespace", where, line_number, key);
    if (line.find('\0') != std::string_view::npos)
      return fail("{}:{}: the line holds a NUL byte", where, line_number);
    env.emplace_back(line);
  }
  return env;
}

Result<std::string> parse_add_host(std::string_view spec) {
  auto sep = spec.find_first_of(":=");
  std::string host(spec.substr(0, sep));
  std::string ip(sep == std::string_view::npos ? "" : spec.substr(sep + 1));
  if (host.empty() || ip.empty() || host.find_first_of(" \t\n#") != std::string::npos)
    return fail("invalid --add-host \"{}\": want HOST:IP", spec);
  if (ip.starts_with('[') && ip.ends_with(']')) ip = ip.substr(1, ip.size() - 2);
  unsigned char addr[16];
  if (::inet_pton(AF_INET, ip.c_str(), addr) != 1 && ::inet_pton(AF_INET6, ip.c_str(), addr) != 1)
    return fail("invalid --add-host \"{}\": {} is not an IP address", spec, ip);
  return fmt::format("{}\t{}\n", ip, host);
}

Result<NetworkChoice> parse_net_option(std::string_view net) {
  NetworkChoice c;
  if (net == "none") {
    c.kind = NetworkChoice::Kind::kNone;
  } else if (net == "host") {
    c.kind = NetworkChoice::Kind::kHost;
  } else if (net.starts_with("container:")) {
    c.kind = NetworkChoice::Kind::kContainer;
    c.name = std::string(net.substr(10));
    if (c.name.empty()) return fail("invalid --net \"{}\": want container:NAME", net);
  } else if (net.empty()) {
    return fail("invalid --net \"\": want none, host, NETWORK or container:NAME");
  } else {
    c.kind = NetworkChoice::Kind::kNetwork;
    // Docker's name for its default network; ours is called "slipway".
    c.name = net == "bridge" || net == "default" ? std::string(kDefaultNetwork) : std::string(net);
  }
  return c;
}

Result<runtime::BindMount> parse_volume(std::string_view spec) {
  runtime::BindMount b;
  auto first = spec.find(':');
  if (first == std::string_view::npos)
    return fail("invalid volume \"{}\": want SRC:DST[:ro|rw|O]", spec);
  b.source = std::string(spec.substr(0, first));
  std::string_view rest = spec.substr(first + 1);
  auto second = rest.find(':');
  b.target = std::string(rest.substr(0, second));
  bool read_write = false;
  // Comma-separated options, as Docker and Podman take them ("ro", "rw", Podman's "O").
  std::string_view options = second == std::string_view::npos ? "" : rest.substr(second + 1);
  while (second != std::string_view::npos) {
    auto comma = options.find(',');
    std::string_view mode = options.substr(0, comma);
    if (mode == "ro") b.read_only = true;
    else if (mode == "rw") read_write = true;
    else if (mode == "O") b.copy_on_write = true;
    else return fail("invalid volume \"{}\": mode \"{}\" is not ro, rw or O", spec, mode);
    if (comma == std::string_view::npos) break;
    options = options.substr(comma + 1);
  }
  if (b.read_only && read_write) return fail("invalid volume \"{}\": both ro and rw", spec);
  // A read-only copy-on-write volume is a contradiction; a plain ro bind already does that job.
  if (b.read_only && b.copy_on_write)
    return fail("invalid volume \"{}\": O (copy-on-write) cannot be read-only; use ro or O", spec);
  if (b.source.empty() || b.source[0] != '/')
    return fail("invalid volume \"{}\": source must be an absolute host path", spec);
  if (b.target.empty() || b.target[0] != '/')
    return fail("invalid volume \"{}\": destination must be an absolute path", spec);
  if (b.target == "/") return fail("invalid volume \"{}\": cannot mount over /", spec);
  // The source goes into overlayfs's option string, where ',' and '\\' are syntax.
  if (b.copy_on_write && b.source.find_first_of(",\\") != std::string::npos)
    return fail("invalid volume \"{}\": a copy-on-write source cannot contain ',' or '\\'", spec);
  return b;
}

Result<int64_t> parse_size(std::string_view text, std::string_view what) {
  int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value <= 0) return fail("invalid {} \"{}\"", what, text);
  std::string_view suffix(p, text.data() + text.size() - p);
  int shift = 0;
  if (suffix == "" || suffix == "b" || suffix == "B") shift = 0;
  else if (suffix == "k" || suffix == "K" || suffix == "kb" || suffix == "KB") shift = 10;
  else if (suffix == "m" || suffix == "M" || suffix == "mb" || suffix == "MB") shift = 20;
  else if (suffix == "g" || suffix == "G" || suffix == "gb" || suffix == "GB") shift = 30;
  else return fail("invalid {} \"{}\": unknown unit \"{}\"", what, text, suffix);
  if (value > (INT64_MAX >> shift)) return fail("invalid {} \"{}\": too large", what, text);
  return value << shift;
}

Result<int64_t> parse_memory(std::string_view text) {
  int64_t value = SLW_TRY(parse_size(text, "memory size"));
  if (value < (6 << 20)) return fail("invalid memory size \"{}\": the minimum is 6m", text);
  return value;
}

Result<uint64_t> parse_storage_opts(const std::vector<std::string>& opts) {
  uint64_t size = 0;
  for (const auto& opt : opts) {
    auto eq = opt.find('=');
    if (opt.substr(0, eq) != "size" || eq == std::string::npos)
      return fail("unknown --storage-opt \"{}\" (known: size=SIZE)", opt);
    int64_t bytes = SLW_TRY(parse_size(opt.substr(eq + 1), "--storage-opt size"));
    if (bytes < (1 << 20)) return fail("invalid --storage-opt size \"{}\": the minimum is 1m", opt.substr(eq + 1));
    size = static_cast<uint64_t>(bytes);
  }
  return size;
}

Result<runtime::LogLimits> parse_log_opts(const std::vector<std::string>& opts) {
  runtime::LogLimits limits;
  for (const auto& opt : opts) {
    auto eq = opt.find('=');
    std::string key = opt.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (key == "max-size") {
      limits.max_bytes = static_cast<uint64_t>(SLW_TRY(parse_size(value, "--log-opt max-size")));
    } else if (key == "max-file") {
      int n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n < 1)
        return fail("invalid --log-opt max-file \"{}\": a number of files, at least 1", value);
      limits.max_files = n;
    } else {
      return fail("unknown --log-opt \"{}\" (known: max-size=SIZE, max-file=N)", opt);
    }
  }
  return limits;
}

std::string container_data_root(const std::string& root, const runtime::ContainerStore& store) {
  std::error_code ec;
  std::string run_root = std::filesystem::weakly_canonical(store.root(), ec).string();
  if (ec || run_root.empty()) run_root = store.root();
  return fs::join(fs::join(root, "containers"), fmt::format("{:012x}", fnv1a64(run_root) >> 16));
}

Result<runtime::ContainerSpec> build_container_spec(const RunOptions& o, const ContainerInputs& in,
                                                    const RootfsReader& rootfs) {
  runtime::ContainerSpec s;
  s.id = in.id;
  s.state_dir = in.state_dir;
  s.cache_dir = in.cache_dir;
  s.hostname = o.hostname.empty() ? in.id.substr(0, 12) : o.hostname;
  if (s.hostname.size() > 64) return fail("hostname \"{}\" is longer than 64 characters", s.hostname);

  const std::string& data_dir = in.data_dir.empty() ? in.state_dir : in.data_dir;
  uint64_t writable_size = SLW_TRY(parse_storage_opts(o.storage_opts));
  if (o.rootfs.empty()) {
    s.rootfs.lower_dirs = in.layer_dirs;
    // A size limit puts the layer on its own tmpfs: this host's kernel has no project quotas.
    std::string layer_dir = writable_size ? fs::join(data_dir, "layer") : data_dir;
    s.rootfs.upper_dir = fs::join(layer_dir, "upper");
    s.rootfs.work_dir = fs::join(layer_dir, "work");
    if (writable_size) {
      s.rootfs.writable_size = writable_size;
      s.rootfs.writable_dir = layer_dir;
    }
  } else if (writable_size) {
    return fail("--storage-opt size limits an image's writable layer; --rootfs {} has none", o.rootfs);
  } else {
    s.rootfs.plain_dir = o.rootfs;
  }
  s.rootfs.read_only = o.read_only;

  s.process.args = resolve_args(in.image, o);
  if (s.process.args.empty())
    return fail("no command specified: the image has no Cmd or Entrypoint and none was given");
  for (const auto& e : o.env)
    if (env_key(e).empty()) return fail("invalid -e {}: the variable has no name", e);
  s.process.env = merge_env(in.image.env, o.env, in.host_env);
  if (!has_env(s.process.env, "PATH")) s.process.env.insert(s.process.env.begin(), std::string(kDefaultPath));
  if (!has_env(s.process.env, "HOSTNAME")) s.process.env.push_back("HOSTNAME=" + s.hostname);
  s.process.terminal = o.tty;
  if (o.tty && !has_env(s.process.env, "TERM")) s.process.env.push_back("TERM=xterm");  // as Docker

  std::string user = o.user.empty() ? in.image.user : o.user;
  ResolvedUser u = SLW_TRY(resolve_user(user, rootfs));
  s.process.uid = u.uid;
  s.process.gid = u.gid;
  s.process.additional_gids = u.additional_gids;
  if (!has_env(s.process.env, "HOME")) s.process.env.push_back("HOME=" + u.home);
  std::string cwd = !o.workdir.empty()               ? o.workdir
                    : !in.image.working_dir.empty() ? in.image.working_dir
                                                    : std::string("/");
  if (cwd[0] != '/') return fail("working directory \"{}\" is not an absolute path", cwd);
  s.process.cwd = cwd;

  for (const auto& v : o.volumes) {
    runtime::BindMount b = SLW_TRY(parse_volume(v));
    if (b.copy_on_write) {
      // Inside the data dir, so the copy dies with the container; the launcher empties it at start.
      std::string dir = fs::join(data_dir, fmt::format("volumes/{}", s.binds.size()));
      b.upper_dir = fs::join(dir, "upper");
      b.work_dir = fs::join(dir, "work");
    }
    s.binds.push_back(std::move(b));
  }

  // Network attachments (bridge, container:) are filled in by ContainerNetwork::prepare.
  NetworkChoice net = SLW_TRY(parse_net_option(o.net));
  s.network.mode = net.kind == NetworkChoice::Kind::kHost        ? runtime::NetworkMode::kHost
                   : net.kind == NetworkChoice::Kind::kContainer ? runtime::NetworkMode::kJoin
                                                                 : runtime::NetworkMode::kNone;

  s.security.capabilities = SLW_TRY(runtime::resolve_capabilities(
      runtime::docker_default_capabilities(), o.cap_add, o.cap_drop));
  if (o.seccomp == "default") {
    s.security.seccomp = runtime::SeccompMode::kDefault;
  } else if (o.seccomp == "unconfined") {
    s.security.seccomp = runtime::SeccompMode::kUnconfined;
  } else {
    s.security.seccomp = runtime::SeccompMode::kFile;
    s.security.seccomp_file = o.seccomp;
  }

  if (!o.memory.empty()) s.resources.memory_bytes = SLW_TRY(parse_memory(o.memory));
  if (o.cpus) {
    if (!(*o.cpus > 0) || !std::isfinite(*o.cpus)) return fail("invalid --cpus {}: must be > 0", *o.cpus);
    s.resources.cpus = o.cpus;
  }
  // A fork bomb in one CI job must not take the host's process table: a limit unless -1 is asked.
  s.resources.pids = kDefaultPidsLimit;
  s.resources.pids_is_default = !o.pids_limit;
  if (o.pids_limit) {
    if (*o.pids_limit == -1) s.resources.pids.reset();
    else if (*o.pids_limit <= 0) return fail("invalid --pids-limit {}: must be > 0, or -1 for no limit", *o.pids_limit);
    else s.resources.pids = o.pids_limit;
  }
  s.init = o.init;
  return s;
}

}  // namespace slipway::engine
