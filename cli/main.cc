// slipway: daemonless container runtime and CI pipeline runner.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/step_clock.h"
#include "cli/cli.h"

namespace slipway::cli {

void print_error(const Error& e) {
  std::string line = fmt::format("slipway: error: {}\n", e.message());
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

std::unique_ptr<oci::TransferProgress> pull_progress() {
  return ::isatty(STDERR_FILENO) ? oci::terminal_progress(STDERR_FILENO) : oci::line_progress(STDERR_FILENO);
}

void print_note(std::string_view note) {
  std::string line = fmt::format("slipway: {}\n", note);
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

// Whether option `a` of command `on` takes the next argument as its value.
bool takes_value(CLI::App* on, const std::string& a) {
  if (a.find('=') != std::string::npos) return false;
  try {
    return on->get_option(a)->get_expected_min() > 0;
  } catch (const CLI::Error&) {
    return false;
  }
}

// `run IMAGE CMD...`, `exec CONTAINER CMD...` and `oci exec ID CMD...`: everything after the first
// positional belongs to the container's command, even "--help" or "-e". CLI11 would parse those
// itself, so they are cut off before parsing and handed to the sub-command in `command`.
std::vector<std::string> split_container_command(CLI::App& app, std::vector<std::string> args,
                                                 std::vector<std::string>& command) {
  // The sub-command named after the options of `on` from args[i] on (i then at its name), or null.
  size_t i = 0;
  auto next_subcommand = [&](CLI::App* on) -> CLI::App* {
    while (i < args.size() && args[i].starts_with("-") && args[i] != "--") i += takes_value(on, args[i]) ? 2 : 1;
    if (i >= args.size()) return nullptr;
    try {
      return on->get_subcommand(args[i]);
    } catch (const CLI::Error&) {
      return nullptr;
    }
  };
  CLI::App* sub = next_subcommand(&app);
  if (sub && sub->get_name() == "oci") {
    ++i;
    sub = next_subcommand(sub);
    if (!sub || sub->get_name() != "exec") return args;
  }
  if (!sub || (sub->get_name() != "run" && sub->get_name() != "exec")) return args;
  for (++i; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      return args;
    }
    if (!a.starts_with("-") || a == "-") {
      command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i + 1);
      return args;
    }
    if (takes_value(sub, a)) ++i;
  }
  return args;
}

// The groups of top-level commands, in the order of the help text, and the names each adds. A
// start of slipway registers only the group of the command it runs: CLI11 takes ~0.5 ms to
// register all of them, and `run` and `slipway-runc create/start/delete` run on every container
// start. Help, errors and unknown names register every group, and check this table on the way.
struct CommandGroup {
  void (*add)(CLI::App&, const GlobalOptions&, Outcome&);
  std::vector<std::string_view> names;
  std::string_view extends = {};  // another group's command it adds sub-commands to
};

const std::vector<CommandGroup>& command_groups() {
  static const std::vector<CommandGroup> groups = {
      {register_run_command, {"run"}},
      {register_container_commands,
       {"ps", "logs", "stop", "kill", "rm", "cp", "start", "restart", "exec", "inspect", "wait", "gc"}},
      {register_image_commands, {"image", "images", "tag"}},
      {register_network_commands, {"network"}},
      {register_registry_commands, {"push", "pull", "login", "logout"}},
      {register_build_commands, {"build"}},
      {register_pipeline_commands, {"pipeline", "services"}},
      {register_prune_commands, {"builder", "system"}, "image"},  // after image: adds `image prune`
      {register_oci_commands, {"oci"}},
  };
  return groups;
}

// The first argument that is neither a global option nor its value: the command's name, or "".
std::string first_command(CLI::App& app, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("-")) return a;
    if (takes_value(&app, a)) ++i;  // --root DIR; --help, --version or a bad flag: next
  }
  return "";
}

std::vector<CLI::App*> commands_of(CLI::App& app) {
  return app.get_subcommands(std::function<bool(CLI::App*)>());
}

CLI::App* find_command(CLI::App& app, std::string_view name) {
  for (CLI::App* c : commands_of(app))
    if (c->get_name() == name) return c;
  return nullptr;
}

Status register_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome, const std::string& command) {
  const auto& groups = command_groups();
  auto adds = [](const CommandGroup& g, std::string_view name) {
    return std::find(g.names.begin(), g.names.end(), name) != g.names.end();
  };
  auto own = std::find_if(groups.begin(), groups.end(), [&](const CommandGroup& g) { return adds(g, command); });
  if (own != groups.end()) {
    // With the group whose command it extends, and the groups that extend one of its commands.
    for (const auto& g : groups)
      if (&g == &*own || (!own->extends.empty() && adds(g, own->extends)) ||
          (!g.extends.empty() && adds(*own, g.extends)))
        g.add(app, global, outcome);
    return {};
  }
  for (const auto& g : groups) {
    size_t before = commands_of(app).size();
    g.add(app, global, outcome);
    auto added = commands_of(app);
    for (size_t i = before; i < added.size(); ++i)
      if (std::find(g.names.begin(), g.names.end(), added[i]->get_name()) == g.names.end())
        return fail("internal error: command \"{}\" is missing from main.cc's command_groups()", added[i]->get_name());
    if (added.size() - before != g.names.size())
      return fail("internal error: main.cc's command_groups() lists a command its group does not add");
  }
  return {};
}

}  // namespace slipway::cli

int main(int argc, char** argv) {
  using namespace slipway::cli;
  slipway::step_clock::start_from_env();
  // Broken pipes are errors to handle where they happen (a child that died), not a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  // A caller that closed stdin, stdout or stderr would have the next file slipway opens take that
  // number, and output (or a container's input) would go to it: /dev/null stands in instead.
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return 125;
  // Each forwarded connection holds six fds; use the whole allowance the host grants.
  if (rlimit nofile; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  slipway::step_clock::mark("main: process set up");
  CLI::App app{"slipway: run containers, build images and run CI pipelines, without a daemon"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version", "slipway version " SLIPWAY_VERSION ", build " SLIPWAY_COMMIT);
  GlobalOptions global;
  global.argv = argv;
  if (const char* env = std::getenv("SLIPWAY_ROOT")) global.root = env;
  if (const char* env = std::getenv("SLIPWAY_RUN_ROOT")) global.run_root = env;
  app.add_option("--root", global.root, "image store and caches (env SLIPWAY_ROOT)")
      ->capture_default_str();
  app.add_option("--run-root", global.run_root,
                 "container state, on a tmpfs by default (env SLIPWAY_RUN_ROOT)");
  Outcome outcome;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Installed as slipway-runc: runc's command line, i.e. `slipway oci ...`.
  std::string_view self = argv[0];
  if (self.substr(self.rfind('/') + 1) == "slipway-runc") args.insert(args.begin(), "oci");
  if (slipway::Status st = register_commands(app, global, outcome, first_command(app, args)); !st) {
    print_error(st.error());
    return 70;
  }
  if (CLI::App* oci = find_command(app, "oci"))
    oci->set_version_flag("-v,--version",
                          "slipway-runc version " SLIPWAY_VERSION "\ncommit: " SLIPWAY_COMMIT "\nspec: 1.1.0");
  try {
    args = split_container_command(app, std::move(args), global.command);
    std::reverse(args.begin(), args.end());  // CLI11 takes them back to front
    slipway::step_clock::mark("main: commands registered");
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that CLI11 prints itself; bad usage is one line, exit 125.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    print_error(slipway::Error(0, fmt::format("{} (see slipway --help)", what)));
    return 125;
  }
  slipway::step_clock::mark("main: done");
  return outcome.exit_code;
}
