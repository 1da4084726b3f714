#include "oci/build/config_edit.h"

#include <signal.h>
#include <string.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "oci/dockerfile/dockerignore.h"

namespace slipway::oci {

namespace {

std::string json_array(const std::vector<std::string>& words) {
  return nlohmann::json(words).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string join(const std::vector<std::string>& words, std::string_view sep = " ") {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += w;
  }
  return out;
}

std::optional<int> parse_port(std::string_view text) {
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0 || v > 65535)
    return std::nullopt;
  return v;
}

// Docker's signal.ParseSignal: a number, or a name with or without "SIG" in any case.
bool valid_signal(std::string_view text) {
  if (text.empty()) return false;
  if (text[0] >= '0' && text[0] <= '9') {
    int n = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    return ec == std::errc() && p == text.data() + text.size() && n > 0 && n < NSIG;
  }
  std::string name(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) return true;
  for (int s = 1; s < NSIG; ++s) {
    const char* abbrev = sigabbrev_np(s);
    if (abbrev && name == abbrev) return true;
  }
  return false;
}

std::string copy_flags(const std::string& from, const std::string& chown,
                       const std::string& chmod) {
  std::string out;
  if (!from.empty()) out += "--from=" + from + " ";
  if (!chown.empty()) out += "--chown=" + chown + " ";
  if (!chmod.empty()) out += "--chmod=" + chmod + " ";
  return out;
}

template <class T>
std::string copy_text(std::string_view keyword, const T& c, const std::string& from) {
  std::vector<std::string> words = c.sources;
  for (const auto& s : c.inline_sources) words.push_back("<<" + s.name);
  words.push_back(c.dest);
  return fmt::format("{} {}{}", keyword, copy_flags(from, c.chown, c.chmod), join(words));
}

}  // namespace

StageConfig stage_config_from_base(BuildConfig base) {
  StageConfig s;
  s.image = std::move(base);
  s.image.config.on_build.clear();
  s.image.created.clear();
  return s;
}

bool is_metadata_instruction(const Instruction& instruction) {
  return !instruction.as<RunInstruction>() && !instruction.as<CopyInstruction>() &&
         !instruction.as<AddInstruction>() && !instruction.as<FromInstruction>() &&
         !instruction.as<WorkdirInstruction>();
}

std::vector<std::string> command_argv(const CommandLine& command,
                                      const std::vector<std::string>& shell) {
  if (!command.shell_form) return command.args;
  std::vector<std::string> argv = shell;
  argv.push_back(join(command.args));
  return argv;
}

std::string resolve_workdir(std::string_view current, std::string_view path) {
  if (path.starts_with('/')) return clean_path(path);
  std::string base = current.empty() ? "/" : std::string(current);
  return clean_path(base + "/" + std::string(path));
}

Result<std::vector<std::string>> normalize_ports(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& word : words) {
    std::string_view w = word;
    std::string proto = "tcp";
    if (auto slash = w.find('/'); slash != std::string_view::npos) {
      proto = std::string(w.substr(slash + 1));
      for (char& c : proto) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      w = w.substr(0, slash);
      if (proto != "tcp" && proto != "udp" && proto != "sctp")
        return fail("invalid protocol \"{}\" in port \"{}\"", proto, word);
    }
    std::string_view first = w, last = w;
    if (auto dash = w.find('-'); dash != std::string_view::npos) {
      first = w.substr(0, dash);
      last = w.substr(dash + 1);
    }
    auto lo = parse_port(first), hi = parse_port(last);
    if (!lo || !hi || *hi < *lo) return fail("invalid port \"{}\"", word);
    for (int p = *lo; p <= *hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
  }
  return out;
}

Status apply_to_config(StageConfig& stage, const Instruction& expanded, std::string_view file) {
  RuntimeConfig& c = stage.image.config;
  auto where = [&](std::string_view what) {
    return fmt::format("{}:{}: {}: {}", file, expanded.start_line, expanded.keyword, what);
  };
  return std::visit(
      [&](const auto& body) -> Status {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, EnvInstruction>) {
          for (const auto& kv : body.vars) {
            if (kv.key.empty()) return fail("{}", where("empty variable name"));
            c.set_env(kv.key, kv.value);
          }
        } else if constexpr (std::is_same_v<T, LabelInstruction>) {
          for (const auto& kv : body.labels) {
            if (kv.key.empty()) return fail("{}", where("empty label name"));
            c.labels[kv.key] = kv.value;
          }
        } else if constexpr (std::is_same_v<T, ExposeInstruction>) {
          auto ports = normalize_ports(body.ports);
          if (!ports) return fail("{}", where(ports.error().message()));
          c.exposed_ports.insert(ports->begin(), ports->end());
        } else if constexpr (std::is_same_v<T, UserInstruction>) {
          c.user = body.user;
        } else if constexpr (std::is_same_v<T, WorkdirInstruction>) {
          if (body.path.empty()) return fail("{}", where("empty path"));
          c.working_dir = resolve_workdir(c.working_dir, body.path);
        } else if constexpr (std::is_same_v<T, VolumeInstruction>) {
          for (const auto& p : body.paths) {
            if (p.empty()) return fail("{}", where("a volume path cannot be empty"));
            c.volumes.insert(p);
          }
        } else if constexpr (std::is_same_v<T, StopSignalInstruction>) {
          if (!valid_signal(body.signal))
            return fail("{}", where(fmt::format("invalid signal \"{}\"", body.signal)));
          c.stop_signal = body.signal;
        } else if constexpr (std::is_same_v<T, HealthcheckInstruction>) {
          Healthcheck h;
          h.test = body.test;
          h.interval_ns = body.interval.count();
          h.timeout_ns = body.timeout.count();
          h.start_period_ns = body.start_period.count();
          h.start_interval_ns = body.start_interval.count();
          h.retries = body.retries;
          c.healthcheck = std::move(h);
        } else if constexpr (std::is_same_v<T, ShellInstruction>) {
          if (body.shell.empty()) return fail("{}", where("the shell cannot be empty"));
          c.shell = body.shell;
        } else if constexpr (std::is_same_v<T, CmdInstruction>) {
          c.cmd = command_argv(body.command, c.effective_shell());
          stage.cmd_set = true;
        } else if constexpr (std::is_same_v<T, EntrypointInstruction>) {
          c.entrypoint = command_argv(body.command, c.effective_shell());
          // Docker: an ENTRYPOINT drops the base image's CMD, not one set in this stage.
          if (!stage.cmd_set) c.cmd.clear();
        } else if constexpr (std::is_same_v<T, OnbuildInstruction>) {
          c.on_build.push_back(body.expression);
        } else if constexpr (std::is_same_v<T, MaintainerInstruction>) {
          stage.image.author = body.maintainer;
        }
        return {};
      },
      expanded.body);
}

std::string history_created_by(const Instruction& expanded,
                               const std::vector<std::string>& run_argv, const VarMap& run_args) {
  return std::visit(
      [&](const auto& body) -> std::string {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, RunInstruction>) {
          std::string prefix;
          if (!run_args.empty()) {
            prefix = fmt::format("|{} ", run_args.size());
            for (const auto& [k, v] : run_args) prefix += k + "=" + v + " ";
          }
          return "RUN " + prefix + join(run_argv);
        } else if constexpr (std::is_same_v<T, CopyInstruction>) {
          return copy_text("COPY", body, body.from);
        } else if constexpr (std::is_same_v<T, AddInstruction>) {
          return copy_text("ADD", body, "");
        } else if constexpr (std::is_same_v<T, EnvInstruction> ||
                             std::is_same_v<T, LabelInstruction>) {
          std::vector<std::string> pairs;
          if constexpr (std::is_same_v<T, EnvInstruction>) {
            for (const auto& kv : body.vars) pairs.push_back(kv.key + "=" + kv.value);
          } else {
            for (const auto& kv : body.labels) pairs.push_back(kv.key + "=" + kv.value);
          }
          return expanded.keyword + " " + join(pairs);
        } else if constexpr (std::is_same_v<T, ArgInstruction>) {
          std::vector<std::string> decls;
          for (const auto& a : body.args) decls.push_back(a.value ? a.key + "=" + *a.value : a.key);
          return "ARG " + join(decls);
        } else if constexpr (std::is_same_v<T, ExposeInstruction>) {
          return "EXPOSE " + join(body.ports);
        } else if constexpr (std::is_same_v<T, UserInstruction>) {
          return "USER " + body.user;
        } else if constexpr (std::is_same_v<T, WorkdirInstruction>) {
          return "WORKDIR " + body.path;
        } else if constexpr (std::is_same_v<T, VolumeInstruction>) {
          return "VOLUME " + json_array(body.paths);
        } else if constexpr (std::is_same_v<T, StopSignalInstruction>) {
          return "STOPSIGNAL " + body.signal;
        } else if constexpr (std::is_same_v<T, HealthcheckInstruction>) {
          return "HEALTHCHECK " + json_array(body.test);
        } else if constexpr (std::is_same_v<T, ShellInstruction>) {
          return "SHELL " + json_array(body.shell);
        } else if constexpr (std::is_same_v<T, CmdInstruction> ||
                             std::is_same_v<T, EntrypointInstruction>) {
          return expanded.keyword + " " + json_array(run_argv);
        } else if constexpr (std::is_same_v<T, OnbuildInstruction>) {
          return "ONBUILD " + body.expression;
        } else if constexpr (std::is_same_v<T, MaintainerInstruction>) {
          return "MAINTAINER " + body.maintainer;
        } else {
          return expanded.keyword;
        }
      },
      expanded.body);
}

}  // namespace slipway::oci
