// `slipway run`: a command in a new container, in the foreground or detached (-d).
#include <unistd.h>

#include <optional>

#include "cli/cli.h"
#include "cli/terminal_mode.h"
#include "engine/run_container.h"
#include "runtime/launcher.h"

extern char** environ;

namespace slipway::cli {

std::map<std::string, std::string> host_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

namespace {

// Docker's exit codes when the container did not run: 127 command not found, 126 not
// executable, 125 anything else.
int exit_code_for_failed_start(const Error& e) {
  switch (e.kind()) {
    case ErrorKind::kCommandNotFound: return 127;
    case ErrorKind::kCommandNotExecutable: return 126;
    case ErrorKind::kOther: break;
  }
  return 125;
}

Result<int> do_run(const GlobalOptions& g, engine::RunOptions o, std::vector<std::string> rest) {
  if (o.rootfs.empty()) {
    if (rest.empty()) return fail("run: an IMAGE or --rootfs DIR is required");
    o.image = rest.front();
    rest.erase(rest.begin());
  }
  o.command = std::move(rest);
  if (!o.detach) SLW_TRY(check_interactive_terminal(o.interactive, o.tty));
  bool detach = o.detach;
  std::optional<RawTerminalMode> raw;
  auto progress = pull_progress();
  engine::RunContext context{g.root, SLW_TRY(run_root(g)), g.argv, host_environment(),
                             {.policy = engine::PullPolicy::kMissing, .progress = progress.get(), .note = print_note}, {}};
  if (o.tty && o.interactive && !o.detach) context.before_foreground_start = [&raw] { raw.emplace(STDIN_FILENO); };
  auto run = engine::run_container(context, std::move(o));
  raw.reset();
  if (!run) {
    print_error(run.error());
    return exit_code_for_failed_start(run.error());
  }
  if (detach) {
    fmt::print("{}\n", run->id);
    return 0;
  }
  const runtime::ExitStatus& exit = *run->exit;
  if (exit.oom_killed || exit.timed_out)
    fmt::print(stderr, "slipway: container {} {}\n", run->name, runtime::describe_exit(exit));
  return exit.exit_code;
}

}  // namespace

void register_run_command(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto run_opts = std::make_shared<engine::RunOptions>();
  auto run = app.add_subcommand("run", "run a command in a new container");
  auto& o = *run_opts;
  run->add_flag("--rm", o.remove, "remove the container when it exits");
  run->add_flag("-d,--detach", o.detach, "run in the background and print the container id");
  run->add_option("--restart", o.restart, "with -d: no, on-failure[:N], always or unless-stopped")
      ->capture_default_str();
  run->add_option("--health-cmd", o.health_cmd, "command run in the container to check its health");
  run->add_option("--health-interval", o.health_interval, "time between checks (30s)");
  run->add_option("--health-timeout", o.health_timeout, "time a check may take (30s)");
  run->add_option("--health-retries", o.health_retries, "failures in a row that make it unhealthy (3)");
  run->add_option("--health-start-period", o.health_start_period, "time in which failures do not count (0s)");
  run->add_option("--health-start-interval", o.health_start_interval, "time between checks in the start period (5s)");
  run->add_flag("--no-healthcheck", o.no_healthcheck, "disable the image's HEALTHCHECK");
  run->add_flag("-i,--interactive", o.interactive, "pass stdin on to the container (else it reads EOF)");
  run->add_flag("-t,--tty", o.tty, "give the container a terminal");
  run->add_option("--name", o.name, "container name")->check([](const std::string& v) {
    return v.empty() ? std::string("--name must not be empty") : std::string();
  });
  run->add_option("--hostname", o.hostname, "container host name");
  run->add_option("-e,--env", o.env, "set an environment variable K=V (or K from this env)")->allow_extra_args(false);
  run->add_option("--env-file", o.env_files, "read K=V lines from FILE (before -e)")->allow_extra_args(false);
  run->add_option("--add-host", o.add_hosts, "add HOST:IP to /etc/hosts")->allow_extra_args(false);
  run->add_option("-w,--workdir", o.workdir, "working directory inside the container");
  run->add_option("-u,--user", o.user, "UID[:GID] or NAME[:GROUP]");
  run->add_option("-v,--volume", o.volumes, "bind mount SRC:DST[:ro]")->allow_extra_args(false);
  run->add_option("--entrypoint", o.entrypoint, "override the image's entrypoint");
  run->add_flag("--read-only", o.read_only, "mount the container's rootfs read-only");
  run->add_option("--memory,-m", o.memory, "memory limit in bytes (k, m, g suffixes allowed)");
  run->add_option("--cpus", o.cpus, "CPU quota as a number of CPUs");
  run->add_option("--pids-limit", o.pids_limit, "maximum number of processes");
  run->add_option("--timeout", o.timeout_seconds, "kill the container after SECONDS");
  run->add_option("--cap-add", o.cap_add, "add a capability (or ALL)")->allow_extra_args(false);
  run->add_option("--cap-drop", o.cap_drop, "drop a capability (or ALL)")->allow_extra_args(false);
  run->add_option("--seccomp", o.seccomp, "default, unconfined or a profile FILE.json")
      ->capture_default_str();
  run->add_flag("--init", o.init, "run a minimal init as PID 1 that reaps zombies");
  run->add_option("--net,--network", o.net, "none, host, NETWORK or container:NAME")
      ->capture_default_str();
  run->add_option("--ip", o.ip, "address on the network (default: the next free one)");
  run->add_option("--alias", o.aliases, "another DNS name on the network")->allow_extra_args(false);
  run->add_option("--forward", o.forwards, "[ADDR:]PORT=HOST:PORT: the container's localhost port reaches a host port")
      ->allow_extra_args(false);
  run->add_option("--log-opt", o.log_opts, "max-size=SIZE (default 20m) or max-file=N (default 5) for -d logs")
      ->allow_extra_args(false);
  run->add_option("--storage-opt", o.storage_opts, "size=SIZE: limit the writable layer (on a tmpfs of that size)")
      ->allow_extra_args(false);
  run->add_option("-p,--publish", o.publish, "[HOSTADDR:]HOSTPORT:PORT: a host port reaches the container")
      ->allow_extra_args(false);
  run->add_option("--rootfs", o.rootfs, "run from a plain directory instead of an image");
  run->add_option("--pull", o.pull, "pull the image: missing (when not in the store), always or never")
      ->capture_default_str();
  auto run_image = std::make_shared<std::vector<std::string>>();
  run->add_option("IMAGE", *run_image, "image (omit with --rootfs); the command and arguments follow");
  run->callback([&g, &outcome, run_opts, run_image] {
    run_command(outcome, [&] {
      std::vector<std::string> rest = *run_image;
      rest.insert(rest.end(), g.command.begin(), g.command.end());
      return do_run(g, *run_opts, rest);
    });
  });
}

}  // namespace slipway::cli
