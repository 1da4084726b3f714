// `slipway oci ...` (also installed as `slipway-runc`): runc's command-line contract, so that
// containerd (`ctr run --runc-binary`), Podman (`--runtime`) and other engines drive slipway as
// their OCI runtime. Errors exit 1, as runc's do; `run` exits with the container's code.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <chrono>
#include <sstream>
#include <thread>

#include "base/fs.h"
#include "base/log.h"
#include "base/scope_exit.h"
#include "cli/cli.h"
#include "engine/oci_config.h"
#include "engine/oci_container.h"
#include "runtime/capabilities.h"
#include "runtime/launcher.h"

namespace slipway::cli {
namespace {

struct OciGlobals {
  std::string root = "/run/slipway-runc";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless;
};

// Sets up logging from the global flags and opens the runtime; every sub-command starts here.
Result<engine::OciRuntime> open_runtime(const OciGlobals& g) {
  if (g.debug) log::set_level(log::Level::kDebug);
  if (!g.log_file.empty()) {
    int fd = ::open(g.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno(fmt::format("--log {}", g.log_file));
    log::also_write_to(fd, g.log_format == "json");  // kept open until exit
  }
  if (g.log_format != "text" && g.log_format != "json")
    return fail("--log-format {}: must be text or json", g.log_format);
  if (g.systemd_cgroup)
    return fail("--systemd-cgroup: slipway manages cgroupfs directly and has no systemd driver; run without it");
  if (!g.rootless.empty() && g.rootless != "false" && g.rootless != "auto")
    return fail("--rootless {}: slipway runs containers as root only", g.rootless);
  return engine::OciRuntime::open(g.root, fs::join(g.root, ".cache"));
}

// The fds a caller passes on must all be open before this process opens any of its own (a --log
// file would take a free number and go to the container).
Status check_preserved_fds(int count) {
  if (count < 0 || count > 1 << 20) return fail("--preserve-fds {}: must be 0 or more", count);
  for (int fd = 3; fd < 3 + count; ++fd)
    if (::fcntl(fd, F_GETFD) < 0) return fail("--preserve-fds {}: fd {} is not open", count, fd);
  return {};
}

// Runs a body; an error is logged (stderr and --log) and exits 1.
template <class F>
void run_oci(Outcome& outcome, F&& body) {
  Result<int> r = body();
  if (!r) {
    log::error("{}", r.error().message());
    outcome.exit_code = 1;
  } else {
    outcome.exit_code = *r;
  }
}

void add_create_flags(CLI::App* cmd, engine::OciCreateOptions& o) {
  cmd->add_option("-b,--bundle", o.bundle, "the bundle directory (config.json and rootfs)")->capture_default_str();
  cmd->add_option("--pid-file", o.pid_file, "write the container's PID 1 to this file");
  cmd->add_option("--console-socket", o.console_socket, "unix socket that receives the terminal's master");
  cmd->add_option("--preserve-fds", o.preserve_fds, "pass fds 3 .. 3+N-1 on to the container");
  // runc's; slipway always pivots and never makes a session keyring, so these change nothing.
  cmd->add_flag("--no-pivot")->description("accepted for runc compatibility (slipway always uses pivot_root)");
  cmd->add_flag("--no-new-keyring")->description("accepted for runc compatibility (slipway makes no session keyring)");
}

// `run` without --detach: waits for the container's PID 1 (this process's child), passing on the
// signals a terminal sends, then deletes it; its exit code becomes ours.
Result<int> wait_and_delete(engine::OciRuntime& rt, const std::string& id, pid_t pid) {
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int s : runtime::kForwardedSignals) sigaddset(&forwarded, s);
  ::sigprocmask(SIG_BLOCK, &forwarded, nullptr);
  UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return fail_errno("open pidfd of the container");
  for (;;) {
    pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return fail_errno("wait for the container");
    if (fds[0].revents) break;
    signalfd_siginfo si;
    if (fds[1].revents && ::read(sigfd.get(), &si, sizeof si) == sizeof si)
      ::syscall(SYS_pidfd_send_signal, pidfd.get(), si.ssi_signo, nullptr, 0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  SLW_TRY(rt.remove(id, true));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string features_json() {
  using nlohmann::json;
  json caps = json::array();
  auto last = runtime::kernel_last_capability();
  for (const auto& name : runtime::capability_names(runtime::all_capabilities(last.value_or(40)))) caps.push_back(name);
  json f = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.1.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion", "lazytime", "loud",
        "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime",
        "nostrictatime", "nosuid", "private", "rbind", "relatime", "rprivate", "rshared", "rslave", "runbindable",
        "ro", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "uts"}},
        {"capabilities", caps},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_NE"}}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}}}},
      {"annotations", {{"org.opencontainers.runc.checkpoint.enabled", "false"}}}};
  return f.dump(2) + "\n";
}

// "5s", "500ms", "2m" -> a duration.
Result<std::chrono::milliseconds> parse_interval(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  if (digits == 0 || digits > 9) return fail("--interval {}: expected a number and ms, s or m", text);
  long n = std::stol(text.substr(0, digits));
  if (unit == "ms" && n > 0) return std::chrono::milliseconds(n);
  if (unit == "s" && n > 0) return std::chrono::milliseconds(n * 1000);
  if (unit == "m" && n > 0) return std::chrono::milliseconds(n * 60000);
  return fail("--interval {}: expected a number above 0 and ms, s or m", text);
}

// `ps` in runc's table form: ps(1) with the given options, only the lines of the container's pids.
Result<int> print_process_table(const std::vector<pid_t>& pids, std::vector<std::string> ps_args) {
  if (ps_args.empty()) ps_args = {"-ef"};
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("create pipe");
  UniqueFd read_end(out[0]), write_end(out[1]);
  pid_t child = ::fork();
  if (child < 0) return fail_errno("fork ps");
  if (child == 0) {
    ::dup2(write_end.get(), STDOUT_FILENO);
    std::vector<char*> argv{const_cast<char*>("ps")};
    for (auto& a : ps_args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("ps", argv.data());
    ::_exit(127);
  }
  write_end.reset();
  std::string text = fs::read_all(read_end.get(), "ps output").value_or("");
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("ps {} failed", fmt::join(ps_args, " "));
  size_t eol = text.find('\n');
  std::string header = text.substr(0, eol);
  // The PID column: its index among the header's words.
  std::vector<std::string> words;
  for (size_t i = 0; i < header.size();) {
    size_t j = header.find_first_not_of(' ', i);
    if (j == std::string::npos) break;
    size_t k = header.find(' ', j);
    words.push_back(header.substr(j, k - j));
    i = k == std::string::npos ? header.size() : k;
  }
  auto column = std::find(words.begin(), words.end(), "PID");
  if (column == words.end()) return fail("ps {}: its output has no PID column", fmt::join(ps_args, " "));
  size_t index = static_cast<size_t>(column - words.begin());
  fmt::print("{}\n", header);
  size_t pos = eol == std::string::npos ? text.size() : eol + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    std::istringstream fields(line);
    std::string field;
    for (size_t i = 0; i <= index && fields >> field; ++i) {
    }
    pid_t pid = static_cast<pid_t>(std::atoi(field.c_str()));
    if (std::find(pids.begin(), pids.end(), pid) != pids.end()) fmt::print("{}\n", line);
  }
  return 0;
}

}  // namespace

void register_oci_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome) {
  auto oci = app.add_subcommand("oci", "an OCI runtime with runc's commands (also installed as slipway-runc)");
  oci->require_subcommand(1);
  auto g = std::make_shared<OciGlobals>();
  oci->add_option("--root", g->root, "state of the runtime's containers")->capture_default_str();
  oci->add_option("--log", g->log_file, "also write log lines to this file");
  oci->add_option("--log-format", g->log_format, "text or json")->capture_default_str();
  oci->add_flag("--debug", g->debug, "log debug lines");
  oci->add_flag("--systemd-cgroup", g->systemd_cgroup, "refused: slipway manages cgroupfs directly");
  oci->add_option("--rootless", g->rootless, "refused unless false or auto: slipway runs as root");
  oci->add_option("--criu", "accepted for runc compatibility; checkpointing is not supported");

  auto create = oci->add_subcommand("create", "set a container up; its command waits for `start`");
  auto create_opts = std::make_shared<engine::OciCreateOptions>();
  auto create_id = std::make_shared<std::string>();
  add_create_flags(create, *create_opts);
  create->add_option("ID", *create_id, "container ID")->required();
  create->callback([&outcome, g, create_opts, create_id] {
    run_oci(outcome, [&]() -> Result<int> {
      SLW_TRY(check_preserved_fds(create_opts->preserve_fds));
      auto rt = SLW_TRY(open_runtime(*g));
      SLW_TRY(rt.create(*create_id, *create_opts));
      return 0;
    });
  });

  auto run = oci->add_subcommand("run", "create and start a container, then wait for it unless --detach");
  auto run_opts = std::make_shared<engine::OciCreateOptions>();
  auto run_id = std::make_shared<std::string>();
  auto detach = std::make_shared<bool>(false);
  add_create_flags(run, *run_opts);
  run->add_flag("-d,--detach", *detach, "return once it started");
  run->add_option("ID", *run_id, "container ID")->required();
  run->callback([&outcome, g, run_opts, run_id, detach] {
    run_oci(outcome, [&]() -> Result<int> {
      SLW_TRY(check_preserved_fds(run_opts->preserve_fds));
      auto rt = SLW_TRY(open_runtime(*g));
      pid_t pid = SLW_TRY(rt.create(*run_id, *run_opts));
      if (auto st = rt.start(*run_id); !st) {
        (void)rt.remove(*run_id, true);
        return std::unexpected(st.error());
      }
      if (*detach) return 0;
      return wait_and_delete(rt, *run_id, pid);
    });
  });

  auto id_command = [&](const char* name, const char* help, auto body) {
    auto cmd = oci->add_subcommand(name, help);
    auto id = std::make_shared<std::string>();
    cmd->add_option("ID", *id, "container ID")->required();
    cmd->callback([&outcome, g, id, body] {
      run_oci(outcome, [&]() -> Result<int> {
        auto rt = SLW_TRY(open_runtime(*g));
        return body(rt, *id);
      });
    });
    return cmd;
  };
  id_command("start", "let a created container run its command", [](engine::OciRuntime& rt, const std::string& id) -> Result<int> {
    SLW_TRY(rt.start(id));
    return 0;
  });
  id_command("state", "print the container's state as JSON", [](engine::OciRuntime& rt, const std::string& id) -> Result<int> {
    fmt::print("{}\n", engine::oci_state_json(SLW_TRY(rt.state(id))));
    return 0;
  });
  id_command("pause", "freeze every process of the container", [](engine::OciRuntime& rt, const std::string& id) -> Result<int> {
    SLW_TRY(rt.pause(id));
    return 0;
  });
  id_command("resume", "thaw a paused container", [](engine::OciRuntime& rt, const std::string& id) -> Result<int> {
    SLW_TRY(rt.resume(id));
    return 0;
  });

  auto exec = oci->add_subcommand("exec", "run a process in a running container: exec [OPTIONS] ID [COMMAND ARG...]");
  auto exec_opts = std::make_shared<engine::OciExecOptions>();
  auto exec_user = std::make_shared<std::string>();
  exec->add_option("-p,--process", exec_opts->process_file, "the process as a JSON file (config.json's process)");
  exec->add_flag("-d,--detach", exec_opts->detach, "return once it runs");
  exec->add_option("--pid-file", exec_opts->pid_file, "write its pid to this file");
  exec->add_flag("-t,--tty", exec_opts->tty, "give it a terminal");
  exec->add_option("--console-socket", exec_opts->console_socket, "unix socket that receives the terminal's master");
  exec->add_option("--cwd", exec_opts->cwd, "working directory in the container");
  exec->add_option("-e,--env", exec_opts->env, "KEY=VALUE added to its environment");
  exec->add_option("-u,--user", *exec_user, "UID[:GID]");
  auto exec_id = std::make_shared<std::string>();
  // The command after the ID is cut off before parsing (main.cc), so its own flags stay its own.
  exec->add_option("ID", *exec_id, "container ID")->required();
  exec->callback([&outcome, &global, g, exec_opts, exec_user, exec_id] {
    run_oci(outcome, [&]() -> Result<int> {
      engine::OciExecOptions o = *exec_opts;
      o.args = global.command;
      if (!exec_user->empty()) {
        auto colon = exec_user->find(':');
        char* end = nullptr;
        unsigned long uid = std::strtoul(exec_user->c_str(), &end, 10);
        unsigned long gid = colon == std::string::npos ? 0 : std::strtoul(exec_user->c_str() + colon + 1, nullptr, 10);
        if (end == exec_user->c_str() || (*end != '\0' && *end != ':'))
          return fail("--user {}: must be UID[:GID] in numbers", *exec_user);
        o.user = std::make_pair(static_cast<uid_t>(uid), static_cast<gid_t>(gid));
      }
      auto rt = SLW_TRY(open_runtime(*g));
      return rt.exec(*exec_id, o);
    });
  });

  auto update = oci->add_subcommand("update", "change a running container's resource limits");
  auto update_id = std::make_shared<std::string>();
  auto update_file = std::make_shared<std::string>();
  update->add_option("-r,--resources", *update_file, "a linux.resources JSON object: a file, or - for stdin")
      ->required();
  update->add_option("ID", *update_id, "container ID")->required();
  update->callback([&outcome, g, update_id, update_file] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      std::string text = *update_file == "-" ? SLW_TRY(fs::read_all(STDIN_FILENO, "stdin"))
                                             : SLW_TRY(fs::read_file(*update_file));
      SLW_TRY(rt.update(*update_id, text));
      return 0;
    });
  });

  auto events = oci->add_subcommand("events", "the container's resource usage as JSON events");
  auto events_id = std::make_shared<std::string>();
  auto events_stats = std::make_shared<bool>(false);
  auto events_interval = std::make_shared<std::string>("5s");
  events->add_flag("--stats", *events_stats, "print one stats event and exit");
  events->add_option("--interval", *events_interval, "between stats events: 5s, 500ms")->capture_default_str();
  events->add_option("ID", *events_id, "container ID")->required();
  events->callback([&outcome, g, events_id, events_stats, events_interval] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      auto interval = SLW_TRY(parse_interval(*events_interval));
      for (;;) {
        auto event = rt.stats_event(*events_id);
        if (!event) {
          // Streaming ends with the container; a one-shot query of a stopped one is an error.
          if (!*events_stats) return 0;
          return std::unexpected(event.error());
        }
        fmt::print("{}\n", *event);
        std::fflush(stdout);
        if (*events_stats) return 0;
        std::this_thread::sleep_for(interval);
      }
    });
  });

  auto kill = oci->add_subcommand("kill", "send a signal (default SIGTERM) to the container");
  auto kill_id = std::make_shared<std::string>();
  auto kill_signal = std::make_shared<std::string>("SIGTERM");
  auto kill_all = std::make_shared<bool>(false);
  kill->add_flag("-a,--all", *kill_all, "every process of the container, not only PID 1");
  kill->add_option("ID", *kill_id, "container ID")->required();
  kill->add_option("SIGNAL", *kill_signal, "name or number")->capture_default_str();
  kill->callback([&outcome, g, kill_id, kill_signal, kill_all] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      SLW_TRY(rt.kill(*kill_id, SLW_TRY(engine::parse_signal(*kill_signal)), *kill_all));
      return 0;
    });
  });

  auto del = oci->add_subcommand("delete", "remove a stopped container (--force: stop it first)");
  auto del_id = std::make_shared<std::string>();
  auto del_force = std::make_shared<bool>(false);
  del->add_flag("-f,--force", *del_force, "kill it first if it runs");
  del->add_option("ID", *del_id, "container ID")->required();
  del->callback([&outcome, g, del_id, del_force] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      SLW_TRY(rt.remove(*del_id, *del_force));
      return 0;
    });
  });

  auto list = oci->add_subcommand("list", "list the containers of this root");
  auto list_format = std::make_shared<std::string>("table");
  auto list_quiet = std::make_shared<bool>(false);
  list->add_option("-f,--format", *list_format, "table or json")->capture_default_str();
  list->add_flag("-q,--quiet", *list_quiet, "IDs only");
  list->callback([&outcome, g, list_format, list_quiet] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      auto states = SLW_TRY(rt.list());
      if (*list_format == "json") {
        nlohmann::json all = nlohmann::json::array();
        for (const auto& s : states) all.push_back(nlohmann::json::parse(engine::oci_state_json(s)));
        fmt::print("{}\n", all.dump());
      } else if (*list_format != "table") {
        return fail("--format {}: must be table or json", *list_format);
      } else if (*list_quiet) {
        for (const auto& s : states) fmt::print("{}\n", s.record.id);
      } else {
        fmt::print("{:<20} {:<8} {:<10} {:<40} {}\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        for (const auto& s : states)
          fmt::print("{:<20} {:<8} {:<10} {:<40} {}\n", s.record.id,
                     s.status == engine::OciStatus::kStopped ? 0 : s.record.pid, engine::to_string(s.status),
                     s.record.bundle, s.record.created);
      }
      return 0;
    });
  });

  auto ps = oci->add_subcommand("ps", "list the container's processes");
  auto ps_format = std::make_shared<std::string>("table");
  auto ps_id = std::make_shared<std::string>();
  auto ps_args = std::make_shared<std::vector<std::string>>();
  ps->add_option("-f,--format", *ps_format, "table or json")->capture_default_str();
  ps->add_option("ID", *ps_id, "container ID")->required();
  ps->add_option("PS_ARGS", *ps_args, "options for ps(1), default -ef");
  ps->callback([&outcome, g, ps_format, ps_id, ps_args] {
    run_oci(outcome, [&]() -> Result<int> {
      auto rt = SLW_TRY(open_runtime(*g));
      auto pids = SLW_TRY(rt.pids(*ps_id));
      if (*ps_format == "json") {
        fmt::print("{}\n", nlohmann::json(pids).dump());
        return 0;
      }
      if (*ps_format != "table") return fail("--format {}: must be table or json", *ps_format);
      return print_process_table(pids, *ps_args);
    });
  });

  auto spec = oci->add_subcommand("spec", "write a default config.json into the bundle directory");
  auto spec_bundle = std::make_shared<std::string>(".");
  spec->add_option("-b,--bundle", *spec_bundle, "where to write it")->capture_default_str();
  spec->add_flag("--rootless")->description("refused: slipway runs containers as root only");
  spec->callback([&outcome, spec, spec_bundle] {
    run_oci(outcome, [&]() -> Result<int> {
      if (spec->count("--rootless")) return fail("spec --rootless: slipway runs containers as root only");
      std::string path = fs::join(*spec_bundle, "config.json");
      if (fs::exists(path)) return fail("{} exists: remove it first", path);
      SLW_TRY(fs::write_file(path, engine::default_oci_config(), 0644));
      return 0;
    });
  });

  auto features = oci->add_subcommand("features", "what this runtime supports, as JSON");
  features->callback([&outcome] {
    run_oci(outcome, [&]() -> Result<int> {
      fmt::print("{}", features_json());
      return 0;
    });
  });
}

}  // namespace slipway::cli
