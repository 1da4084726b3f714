// Container sub-commands: ps, logs, stop, kill, rm, cp, start, restart, exec, inspect, wait, gc
// (run is run_command.cc).
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "cli/cli.h"
#include "cli/format_output.h"
#include "cli/terminal_mode.h"
#include "engine/container_config.h"
#include "engine/container_copy.h"
#include "engine/container_view.h"
#include "engine/garbage.h"
#include "engine/run_container.h"
#include "pipeline/garbage.h"
#include "pipeline/secrets.h"
#include "runtime/container_ops.h"
#include "runtime/readonly_binary.h"
#include "runtime/spec_json.h"
#include "runtime/supervisor.h"

namespace slipway::cli {
namespace {

using runtime::ContainerRecord;
using runtime::ContainerState;
using runtime::ContainerStore;

Result<int> parse_signal(std::string_view name) {
  if (!name.empty() && std::isdigit(static_cast<unsigned char>(name[0]))) {
    int n = std::atoi(std::string(name).c_str());
    if (n > 0 && n < NSIG) return n;
    return fail("invalid signal \"{}\"", name);
  }
  std::string n(name);
  for (auto& c : n) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n.starts_with("SIG")) n = n.substr(3);
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev && n == abbrev) return s;
  }
  return fail("invalid signal \"{}\"", name);
}

std::string short_container_id(const std::string& id) { return id.substr(0, 12); }

struct PsArgs {
  bool all = false, quiet = false;
  std::vector<std::string> filters;
  std::string format;
};

// Column titles of `ps --format "table ..."`, as Docker's.
const nlohmann::json kPsHeader = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"},       {"Command", "COMMAND"},
                                  {"CreatedAt", "CREATED AT"}, {"RunningFor", "CREATED"}, {"Status", "STATUS"},
                                  {"State", "STATE"},     {"Names", "NAMES"},       {"Networks", "NETWORKS"}};

Result<int> do_ps(const GlobalOptions& g, const PsArgs& a) {
  engine::PsFilter filter = SLW_TRY(engine::PsFilter::parse(a.filters));
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  auto records = SLW_TRY(store.list());
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.created > b.created; });
  std::vector<nlohmann::json> rows;
  std::time_t now = std::time(nullptr);
  for (const auto& r : records) {
    ContainerState s = SLW_TRY(store.current_state(r.id));
    // Docker's ps lists restarting containers with the running ones.
    bool running = s.status == runtime::ContainerStatus::kRunning || s.status == runtime::ContainerStatus::kRestarting;
    if (!a.all && !running && !filter.has_status()) continue;
    auto addresses = engine::container_addresses(g.root, r.id);
    if (!filter.matches(r, s, addresses)) continue;
    rows.push_back(engine::docker_ps_fields(r, s, addresses, now));
  }
  std::string format = a.format;
  if (a.quiet) format = "{{.ID}}";
  if (format.empty()) format = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Status}}\t{{.Names}}";
  fmt::print("{}", SLW_TRY(format_items(rows, format, kPsHeader)));
  return 0;
}

// Copies a whole file to fd, if it exists.
void copy_file(const std::string& path, int out_fd) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[65536];
  for (ssize_t n; fd && (n = ::read(fd.get(), buf, sizeof buf)) > 0;) (void)!::write(out_fd, buf, n);
}

// Follows one log file that RotatingLogSink renames to PATH.1 (and on to PATH.N) when full: the
// open file is read to its end, then the files rotated after it, then the new PATH, so nothing is
// lost or printed twice unless max_files rotations happen between two looks.
class LogTail {
 public:
  LogTail(std::string path, int max_files, int out_fd)
      : path_(std::move(path)), max_files_(max_files), out_fd_(out_fd) {}
  void pump() {
    if (!fd_ && !open_current()) return;
    drain();
    struct stat now, cur;
    if (::fstat(fd_.get(), &cur) < 0) return;
    if (::stat(path_.c_str(), &now) == 0 && now.st_ino == cur.st_ino && now.st_dev == cur.st_dev) return;
    drain();  // what was written before the rotation
    int moved_to = max_files_;  // where the old file is now (max_files_: dropped)
    for (int k = 1; k < max_files_; ++k) {
      struct stat st;
      if (::stat(rotated(k).c_str(), &st) == 0 && st.st_ino == cur.st_ino && st.st_dev == cur.st_dev) {
        moved_to = k;
        break;
      }
    }
    for (int k = moved_to - 1; k >= 1; --k) copy_file(rotated(k), out_fd_);
    if (open_current()) drain();
  }

 private:
  std::string rotated(int k) const { return fmt::format("{}.{}", path_, k); }
  bool open_current() {
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    offset_ = 0;
    return fd_.valid();
  }
  void drain() {
    // max-file=1 truncates the one file in place: start again from its beginning.
    struct stat st;
    if (::fstat(fd_.get(), &st) == 0 && st.st_size < offset_) offset_ = 0;
    char buf[65536];
    for (ssize_t n; (n = ::pread(fd_.get(), buf, sizeof buf, offset_)) > 0; offset_ += n)
      (void)!::write(out_fd_, buf, n);
  }
  std::string path_;
  int max_files_;
  int out_fd_;
  UniqueFd fd_;
  off_t offset_ = 0;
};

Result<int> do_logs(const GlobalOptions& g, const std::string& name, bool follow) {
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  ContainerRecord r = SLW_TRY(store.find(name));
  std::string out = runtime::stdout_log(store, r), err = runtime::stderr_log(store, r);
  // Rotated files first, oldest first: PATH.N ... PATH.1, then PATH.
  for (int i = r.logs.max_files - 1; i >= 1; --i) {
    copy_file(fmt::format("{}.{}", out, i), STDOUT_FILENO);
    copy_file(fmt::format("{}.{}", err, i), STDERR_FILENO);
  }
  LogTail out_tail(out, r.logs.max_files, STDOUT_FILENO), err_tail(err, r.logs.max_files, STDERR_FILENO);
  out_tail.pump();
  err_tail.pump();
  while (follow) {
    auto s = store.current_state(r.id);
    bool running = s && s->status == runtime::ContainerStatus::kRunning;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    out_tail.pump();
    err_tail.pump();
    if (!running) break;
  }
  return 0;
}

template <class F>
Result<int> for_each_container(const GlobalOptions& g, const std::vector<std::string>& names, F&& f) {
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  int rc = 0;
  for (const auto& n : names) {
    auto r = store.find(n);
    Status st = r ? f(store, *r) : Status(std::unexpected(r.error()));
    if (!st) {
      print_error(st.error());
      rc = 1;
    } else {
      fmt::print("{}\n", n);
    }
  }
  return rc;
}

// `start`, and `restart` (stop_seconds set): each name is printed once it runs, as Docker's.
Result<int> do_start(const GlobalOptions& g, const std::vector<std::string>& names, std::optional<int> stop_seconds) {
  std::string run_root_dir = SLW_TRY(run_root(g));
  ContainerStore store = SLW_TRY(ContainerStore::open(run_root_dir));
  engine::RunContext context{g.root, run_root_dir, g.argv, host_environment(), {}, {}};
  int rc = 0;
  for (const auto& n : names) {
    Status st = [&]() -> Status {
      ContainerRecord r = SLW_TRY(store.find(n));
      if (stop_seconds) SLW_TRY(runtime::stop_container(store, r, std::chrono::seconds(*stop_seconds)));
      return engine::start_existing(context, r.id);
    }();
    if (!st) {
      print_error(st.error());
      rc = 125;
      continue;
    }
    fmt::print("{}\n", n);
  }
  return rc;
}

// `cp`: CONTAINER:PATH on exactly one side, as Docker's (a host path with a ':' is written ./a:b).
std::optional<std::pair<std::string, std::string>> container_path(const std::string& arg) {
  auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || arg.starts_with('/') || arg.starts_with('.')) return std::nullopt;
  if (arg.substr(0, colon).find('/') != std::string::npos) return std::nullopt;
  return std::make_pair(arg.substr(0, colon), arg.substr(colon + 1));
}

Result<int> do_cp(const GlobalOptions& g, const std::string& source, const std::string& dest,
                  const engine::CopyOptions& options) {
  auto from = container_path(source), to = container_path(dest);
  if (from.has_value() == to.has_value())
    return fail("cp: exactly one of SRC and DEST must be CONTAINER:PATH (host to container or container to host)");
  if (source == "-" || dest == "-") return fail("cp: tar streams (-) are not supported; copy to or from a path");
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  ContainerRecord r = SLW_TRY(store.find(from ? from->first : to->first));
  if (from) {
    if (from->second.empty()) return fail("cp: {}: the container path is empty", source);
    SLW_TRY(engine::copy_out_of_container(store, r, from->second, dest, options));
  } else {
    if (to->second.empty()) return fail("cp: {}: the container path is empty", dest);
    SLW_TRY(engine::copy_into_container(store, r, source, to->second, options));
  }
  return 0;
}

struct ExecArgs {
  std::vector<std::string> env;
  std::string workdir, user;
  bool interactive = false, tty = false;
};

Result<int> do_exec(const GlobalOptions& g, const std::string& name, std::vector<std::string> args,
                    const ExecArgs& a) {
  SLW_TRY(check_interactive_terminal(a.interactive, a.tty));
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  ContainerRecord r = SLW_TRY(store.find(name));
  if (runtime::can_reach_runtime_binary(r.spec)) SLW_TRY(runtime::reexec_from_readonly_binary(g.argv));
  runtime::ExecOptions opts;
  opts.args = std::move(args);
  opts.env = a.env;
  opts.cwd = a.workdir;
  opts.stdio = engine::foreground_stdio(a.interactive, a.tty);
  const std::string& user = a.user;
  if (!user.empty()) {
    std::vector<std::string> layers = r.spec.rootfs.lower_dirs;
    if (!r.spec.rootfs.plain_dir.empty()) layers = {r.spec.rootfs.plain_dir};
    else layers.push_back(r.spec.rootfs.upper_dir);
    auto u = SLW_TRY(engine::resolve_user(user, engine::layered_rootfs_reader(layers)));
    opts.user = std::make_pair(u.uid, u.gid);
  }
  std::optional<RawTerminalMode> raw;
  if (a.tty && a.interactive) raw.emplace(STDIN_FILENO);
  auto rc = runtime::exec_in_container(store, r, opts);
  raw.reset();
  if (!rc) {
    print_error(rc.error());
    // Docker's exec: 127 command not found, 126 for every other failure to start it.
    return rc.error().kind() == ErrorKind::kCommandNotFound ? 127 : 126;
  }
  return *rc;
}

// Docker's fields (Id, State.ExitCode, NetworkSettings...) beside slipway's own record and state.
Result<int> do_inspect(const GlobalOptions& g, const std::vector<std::string>& names, const std::string& format) {
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  std::vector<nlohmann::json> items;
  for (const auto& n : names) {
    ContainerRecord r = SLW_TRY(store.find(n));
    ContainerState s = SLW_TRY(store.current_state(r.id));
    nlohmann::json j = r;
    j["state"] = s;
    j.update(engine::docker_inspect_fields(r, s, engine::container_addresses(g.root, r.id)));
    items.push_back(std::move(j));
  }
  if (!format.empty()) {
    fmt::print("{}", SLW_TRY(format_items(items, format)));
    return 0;
  }
  nlohmann::json out(items);
  fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  return 0;
}

// Docker's `wait`: blocks until each container has stopped and prints its exit code.
Result<int> do_wait(const GlobalOptions& g, const std::vector<std::string>& names) {
  ContainerStore store = SLW_TRY(ContainerStore::open(SLW_TRY(run_root(g))));
  std::vector<ContainerRecord> records;
  for (const auto& n : names) records.push_back(SLW_TRY(store.find(n)));
  for (const auto& r : records) {
    for (;;) {
      auto s = store.current_state(r.id);
      // An --rm container's record goes when it ends: its code went with it, as Docker's does.
      if (!s) {
        if (!store.find(r.id)) return fail("container {} was removed before its exit code was read", r.name);
        return std::unexpected(s.error());
      }
      const ContainerState& st = *s;
      if (st.status != runtime::ContainerStatus::kRunning && st.status != runtime::ContainerStatus::kRestarting) {
        fmt::print("{}\n", st.exit_code);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return 0;
}

struct GcArgs {
  std::optional<size_t> keep_runs;
  std::string cache_max;
};

Result<int> do_gc(const GlobalOptions& g, const GcArgs& a) {
  std::string runs_root = SLW_TRY(run_root(g));
  pipeline::PruneRequest prune;
  prune.keep_runs = a.keep_runs;
  // 0 removes every cache not in use.
  if (!a.cache_max.empty())
    prune.cache_max = a.cache_max == "0" ? 0 : static_cast<uint64_t>(SLW_TRY(engine::parse_size(a.cache_max, "--cache-max")));
  ContainerStore store = SLW_TRY(ContainerStore::open(runs_root));
  auto report = SLW_TRY(engine::collect_garbage(g.root, store));
  auto runs = SLW_TRY(pipeline::collect_run_garbage(g.root));
  for (const auto& d : SLW_TRY(pipeline::remove_orphan_secret_dirs(runs_root)))
    fmt::print("removed secrets of a killed pipeline step {}\n", d);
  auto pruned = SLW_TRY(pipeline::prune_pipelines(g.root, runs_root, prune));
  for (const auto& r : pruned.runs) fmt::print("removed pipeline run {}\n", r);
  for (const auto& c : pruned.snapshot_copies) fmt::print("removed snapshot copies of commit {}\n", c.substr(0, 12));
  for (const auto& c : pruned.caches) fmt::print("removed cache {} ({} bytes)\n", c.key, c.bytes);
  for (const auto& id : report.containers) fmt::print("cleaned up container {}\n", short_container_id(id));
  for (const auto& l : report.leases) fmt::print("released address {}\n", l);
  for (const auto& l : report.links) fmt::print("removed link {}\n", l);
  for (const auto& r : runs.runs) fmt::print("marked killed pipeline run {} failed\n", r);
  for (const auto& p : report.partial) fmt::print("removed partial file {}\n", p);
  for (const auto& p : runs.partial) fmt::print("removed partial file {}\n", p);
  for (const auto& id : report.data_dirs) fmt::print("removed data of vanished container {}\n", short_container_id(id));
  for (const auto& f : report.network_files) fmt::print("removed network file {}\n", f);
  for (const auto& b : report.nftables_rules) fmt::print("removed nftables rules of bridge {}\n", b);
  return 0;
}

}  // namespace

void register_container_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto ps = app.add_subcommand("ps", "list containers");
  auto ps_args = std::make_shared<PsArgs>();
  ps->add_flag("-a,--all", ps_args->all, "include stopped containers");
  ps->add_flag("-q,--quiet", ps_args->quiet, "print ids only");
  ps->add_option("-f,--filter", ps_args->filters,
                 "KEY=VALUE: name, id, status (created|running|exited), network, ancestor")
      ->allow_extra_args(false);
  ps->add_option("--format", ps_args->format,
                 "a Go template ({{.ID}} {{.Image}} {{.Command}} {{.CreatedAt}} {{.RunningFor}} {{.Status}} "
                 "{{.State}} {{.Names}} {{.Networks}}), \"table TEMPLATE\" or json");
  ps->callback([&g, &outcome, ps_args] { run_command(outcome, [&] { return do_ps(g, *ps_args); }); });

  auto logs = app.add_subcommand("logs", "print a detached container's output");
  auto logs_name = std::make_shared<std::string>();
  auto logs_follow = std::make_shared<bool>(false);
  logs->add_flag("-f,--follow", *logs_follow, "keep printing until the container exits");
  logs->add_option("CONTAINER", *logs_name)->required();
  logs->callback([&g, &outcome, logs_name, logs_follow] {
    run_command(outcome, [&] { return do_logs(g, *logs_name, *logs_follow); });
  });

  auto stop = app.add_subcommand("stop", "stop containers: SIGTERM, then SIGKILL after a grace time");
  auto stop_names = std::make_shared<std::vector<std::string>>();
  auto stop_time = std::make_shared<double>(10);
  stop->add_option("-t,--time", *stop_time, "seconds to wait before killing")->capture_default_str();
  stop->add_option("CONTAINER", *stop_names)->required();
  stop->callback([&g, &outcome, stop_names, stop_time] {
    run_command(outcome, [&] {
      auto grace = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, *stop_time) * 1000));
      return for_each_container(g, *stop_names, [&](const ContainerStore& s, const ContainerRecord& r) {
        return runtime::stop_container(s, r, grace);
      });
    });
  });

  auto kill = app.add_subcommand("kill", "send a signal to containers (default SIGKILL)");
  auto kill_names = std::make_shared<std::vector<std::string>>();
  auto kill_signal = std::make_shared<std::string>("KILL");
  kill->add_option("-s,--signal", *kill_signal, "signal name or number")->capture_default_str();
  kill->add_option("CONTAINER", *kill_names)->required();
  kill->callback([&g, &outcome, kill_names, kill_signal] {
    run_command(outcome, [&]() -> Result<int> {
      int sig = SLW_TRY(parse_signal(*kill_signal));
      return for_each_container(g, *kill_names, [&](const ContainerStore& s, const ContainerRecord& r) {
        return runtime::signal_container(s, r, sig);
      });
    });
  });

  auto rm = app.add_subcommand("rm", "remove containers");
  auto rm_names = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  rm->add_flag("-f,--force", *rm_force, "kill running containers first");
  rm->add_option("CONTAINER", *rm_names)->required();
  rm->callback([&g, &outcome, rm_names, rm_force] {
    run_command(outcome, [&] {
      return for_each_container(g, *rm_names, [&](const ContainerStore& s, const ContainerRecord& r) {
        return runtime::remove_container(s, r, *rm_force);
      });
    });
  });

  auto cp = app.add_subcommand("cp", "copy files between a container (running or stopped) and the host");
  auto cp_paths = std::make_shared<std::vector<std::string>>();
  auto cp_options = std::make_shared<engine::CopyOptions>();
  cp->add_flag("-a,--archive", cp_options->archive, "keep the owner (uid:gid) of what is copied");
  cp->add_flag("-L,--follow-link", cp_options->follow_link, "follow a symlink given as SRC");
  cp->add_option("SRC DEST", *cp_paths, "CONTAINER:PATH and a host path, either way round")->expected(2)->required();
  cp->callback([&g, &outcome, cp_paths, cp_options] {
    run_command(outcome, [&] { return do_cp(g, (*cp_paths)[0], (*cp_paths)[1], *cp_options); });
  });

  auto start = app.add_subcommand("start", "start stopped containers again (detached)");
  auto start_names = std::make_shared<std::vector<std::string>>();
  start->add_option("CONTAINER", *start_names)->required();
  start->callback([&g, &outcome, start_names] {
    run_command(outcome, [&] { return do_start(g, *start_names, std::nullopt); });
  });

  auto restart = app.add_subcommand("restart", "stop containers, then start them again");
  auto restart_names = std::make_shared<std::vector<std::string>>();
  auto restart_time = std::make_shared<int>(10);
  restart->add_option("-t,--time", *restart_time, "seconds to wait before killing")->capture_default_str();
  restart->add_option("CONTAINER", *restart_names)->required();
  restart->callback([&g, &outcome, restart_names, restart_time] {
    run_command(outcome, [&] { return do_start(g, *restart_names, *restart_time); });
  });

  auto exec = app.add_subcommand("exec", "run a command in a running container");
  auto ex = std::make_shared<ExecArgs>();
  exec->add_flag("-i,--interactive", ex->interactive, "pass stdin on to the command");
  exec->add_flag("-t,--tty", ex->tty, "give the command a terminal");
  exec->add_option("-e,--env", ex->env, "set an environment variable K=V")->allow_extra_args(false);
  exec->add_option("-w,--workdir", ex->workdir, "working directory");
  exec->add_option("-u,--user", ex->user, "UID[:GID] or NAME[:GROUP]");
  auto exec_args = std::make_shared<std::vector<std::string>>();
  exec->add_option("CONTAINER", *exec_args, "container; the command and arguments follow");
  exec->callback([&g, &outcome, exec_args, ex] {
    run_command(outcome, [&]() -> Result<int> {
      auto rest = *exec_args;
      rest.insert(rest.end(), g.command.begin(), g.command.end());
      if (rest.size() < 2) return fail("exec: usage: slipway exec [OPTIONS] CONTAINER CMD [ARG...]");
      std::string name = rest.front();
      rest.erase(rest.begin());
      return do_exec(g, name, rest, *ex);
    });
  });

  auto inspect = app.add_subcommand("inspect", "print containers' configuration and state as JSON");
  auto inspect_names = std::make_shared<std::vector<std::string>>();
  auto inspect_format = std::make_shared<std::string>();
  inspect->add_option("-f,--format", *inspect_format,
                      "a Go template over Docker's fields, e.g. '{{.State.ExitCode}}', or json");
  inspect->add_option("CONTAINER", *inspect_names)->required();
  inspect->callback([&g, &outcome, inspect_names, inspect_format] {
    run_command(outcome, [&] { return do_inspect(g, *inspect_names, *inspect_format); });
  });

  auto wait = app.add_subcommand("wait", "wait until containers stop, then print their exit codes");
  auto wait_names = std::make_shared<std::vector<std::string>>();
  wait->add_option("CONTAINER", *wait_names)->required();
  wait->callback([&g, &outcome, wait_names] {
    run_command(outcome, [&] { return do_wait(g, *wait_names); });
  });

  auto gc = app.add_subcommand("gc", "clean up after killed slipway processes; prune old runs and caches");
  auto gc_args = std::make_shared<GcArgs>();
  gc->add_option("--keep-runs", gc_args->keep_runs, "remove all but the newest N finished pipeline runs");
  gc->add_option("--cache-max", gc_args->cache_max, "remove least recently used pipeline caches down to SIZE (k, m, g)");
  gc->callback([&g, &outcome, gc_args] { run_command(outcome, [&] { return do_gc(g, *gc_args); }); });
}

}  // namespace slipway::cli
