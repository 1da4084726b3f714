#include "oci/dockerfile/instructions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "base/ascii.h"
#include "oci/dockerfile/flags.h"
#include "oci/dockerfile/heredoc.h"
#include "oci/dockerfile/parser.h"
#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

constexpr std::array<std::string_view, 18> kInstructions = {
    "add",    "arg",   "cmd",         "copy",  "entrypoint", "env",
    "expose", "from",  "healthcheck", "label", "maintainer", "onbuild",
    "run",    "shell", "stopsignal",  "user",  "volume",     "workdir"};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_instruction(std::string_view keyword) {
  std::string message = fmt::format("unknown instruction: {}", upper(keyword));
  for (std::string_view known : kInstructions) {
    if (edit_distance(keyword, known) <= 2 && keyword.size() > 2) {
      return message + fmt::format(" (did you mean {}?)", upper(known));
    }
  }
  return message;
}

// Nanoseconds per unit of Go's time.ParseDuration, or 0 for an unknown unit.
long double unit_scale(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;  // us, µs, μs
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

// Go's time.ParseDuration: "1h30m", "1.5s", "300ms", "-2us"; "0" needs no unit.
Result<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  auto invalid = [&] { return fail("invalid duration \"{}\"", text); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  long double total = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    long double number = 0;
    bool digits = false;
    for (; i < s.size() && digit(s[i]); ++i) {
      number = number * 10 + (s[i] - '0');
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      long double place = 1;
      for (++i; i < s.size() && digit(s[i]); ++i) {
        place /= 10;
        number += (s[i] - '0') * place;
        digits = true;
      }
    }
    if (!digits) return invalid();
    std::size_t unit_end = i;
    while (unit_end < s.size() && s[unit_end] != '.' && !digit(s[unit_end])) ++unit_end;
    std::string_view unit = s.substr(i, unit_end - i);
    if (unit.empty()) return fail("missing unit in duration \"{}\"", text);
    const long double scale = unit_scale(unit);
    if (scale == 0) return fail("unknown unit \"{}\" in duration \"{}\"", unit, text);
    total += number * scale;
    s.remove_prefix(unit_end);
  }
  if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) return invalid();
  auto ns = static_cast<std::int64_t>(std::llround(total));
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

// A healthcheck interval: 0 (or unset) means the runtime default, anything else at least 1ms.
Result<std::chrono::nanoseconds> parse_interval(const FlagSet& flags, std::string_view name) {
  const std::string& value = flags.string(name);
  if (value.empty()) return std::chrono::nanoseconds(0);
  auto d = parse_go_duration(value);
  if (!d) return fail("HEALTHCHECK --{}: {}", name, d.error().message());
  if (d->count() != 0 && *d < std::chrono::milliseconds(1)) {
    return fail("HEALTHCHECK --{}={} cannot be less than 1ms", name, value);
  }
  return *d;
}

Status no_flags(const Node& node, std::string_view keyword) {
  FlagSet flags{std::string(keyword)};
  return flags.parse(node.flags);
}

CommandLine command_line(const Node& node) {
  if (node.json) return {node.args, false};
  if (node.args.empty()) return {{}, true};
  std::string joined;
  for (std::size_t i = 0; i < node.args.size(); ++i) joined += (i ? " " : "") + node.args[i];
  return {{joined}, true};
}

Result<std::vector<KeyValue>> key_values(const Node& node, std::string_view keyword) {
  SLW_TRY(no_flags(node, keyword));
  if (node.args.empty()) return fail("{} requires at least one argument", keyword);
  std::vector<KeyValue> out;
  for (std::size_t i = 0; i + 1 < node.args.size(); i += 3) {
    if (node.args[i].empty()) return fail("{} names can not be blank", keyword);
    out.push_back({node.args[i], node.args[i + 1]});
  }
  return out;
}

Result<std::string> exactly_one(const Node& node, std::string_view keyword) {
  SLW_TRY(no_flags(node, keyword));
  if (node.args.size() != 1) return fail("{} requires exactly one argument", keyword);
  return node.args[0];
}

struct Sources {
  std::vector<std::string> paths;
  std::vector<InlineSource> inline_sources;
  std::string dest;
};

// COPY/ADD arguments: heredoc words become inline sources with the bodies read after the line.
Result<Sources> parse_sources(const Node& node, std::string_view keyword) {
  if (node.args.size() < 2) {
    return fail(
        "{} requires at least two arguments, but only one was provided. Destination "
        "could not be determined",
        keyword);
  }
  Sources out;
  out.dest = node.args.back();
  if (!node.heredocs.empty() && SLW_TRY(parse_heredoc(out.dest))) {
    return fail("{} cannot accept a heredoc as a destination", keyword);
  }
  for (std::size_t i = 0; i + 1 < node.args.size(); ++i) {
    std::string word = node.args[i];
    // "<< EOF" was split into two arguments by the whitespace splitter; join it back.
    const bool bare = word.ends_with("<<") || word.ends_with("<<-");
    if (!node.heredocs.empty() && bare && i + 2 < node.args.size()) word += " " + node.args[i + 1];
    std::optional<Heredoc> heredoc;
    if (!node.heredocs.empty()) heredoc = SLW_TRY(parse_heredoc(word));
    const Heredoc* body = nullptr;
    if (heredoc) {
      for (const Heredoc& h : node.heredocs) {
        if (h.name == heredoc->name) body = &h;
      }
    }
    if (!body) {
      out.paths.push_back(node.args[i]);
      continue;
    }
    if (word != node.args[i]) ++i;
    out.inline_sources.push_back({body->name,
                                  heredoc->chomp ? chomp_heredoc(body->content) : body->content,
                                  heredoc->expand});
  }
  return out;
}

Result<InstructionBody> parse_body(const Node& node, std::string_view file);

Result<InstructionBody> parse_onbuild(const Node& node, std::string_view file) {
  SLW_TRY(no_flags(node, "ONBUILD"));
  if (node.nested.empty()) return fail("ONBUILD requires at least one argument");
  const std::string trigger = upper(node.nested[0].keyword);
  if (trigger == "ONBUILD") return fail("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger == "MAINTAINER" || trigger == "FROM") {
    return fail("{} isn't allowed as an ONBUILD trigger", trigger);
  }
  // Check the trigger now rather than when some later build uses this image as its base.
  Node inner = node.nested[0];
  inner.heredocs = node.heredocs;
  auto checked = parse_body(inner, file);
  if (!checked) return std::unexpected(std::move(checked.error()).context("ONBUILD"));

  std::string_view expression = trim_left_unicode_space(node.original);
  std::size_t keyword_end = 0;
  while (keyword_end < expression.size() &&
         !std::isspace(static_cast<unsigned char>(expression[keyword_end]))) {
    ++keyword_end;
  }
  std::string text(trim_left_unicode_space(expression.substr(keyword_end)));
  for (const Heredoc& h : node.heredocs) text += "\n" + h.content + h.name;
  return OnbuildInstruction{std::move(text)};
}

Result<InstructionBody> parse_healthcheck(const Node& node) {
  if (node.args.empty()) return fail("HEALTHCHECK requires at least one argument");
  HealthcheckInstruction out;
  const std::string type = upper(node.args[0]);
  if (type == "NONE") {
    if (node.args.size() != 1) return fail("HEALTHCHECK NONE takes no arguments");
    if (!node.flags.empty()) return fail("HEALTHCHECK NONE takes no flags");
    out.test = {"NONE"};
    return out;
  }
  FlagSet flags("HEALTHCHECK");
  for (const char* name : {"interval", "timeout", "start-period", "start-interval", "retries"}) {
    flags.add_string(name);
  }
  SLW_TRY(flags.parse(node.flags));
  if (type != "CMD") return fail("unknown type \"{}\" in HEALTHCHECK (try CMD)", type);
  Node command = node;
  command.args.erase(command.args.begin());
  CommandLine cmd = command_line(command);
  if (cmd.args.empty()) return fail("missing command after HEALTHCHECK CMD");
  out.test.push_back(cmd.shell_form ? "CMD-SHELL" : "CMD");
  out.test.insert(out.test.end(), cmd.args.begin(), cmd.args.end());
  out.interval = SLW_TRY(parse_interval(flags, "interval"));
  out.timeout = SLW_TRY(parse_interval(flags, "timeout"));
  out.start_period = SLW_TRY(parse_interval(flags, "start-period"));
  out.start_interval = SLW_TRY(parse_interval(flags, "start-interval"));
  if (const std::string& retries = flags.string("retries"); !retries.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(retries.data(), retries.data() + retries.size(), value);
    if (ec != std::errc() || end != retries.data() + retries.size()) {
      return fail("HEALTHCHECK --retries: not a number: {}", retries);
    }
    if (value < 0) return fail("HEALTHCHECK --retries cannot be negative ({})", value);
    out.retries = value;
  }
  return out;
}

Result<InstructionBody> parse_run(const Node& node) {
  FlagSet flags("RUN");
  flags.add_strings("mount");
  flags.add_string("network");
  flags.add_string("security");
  SLW_TRY(flags.parse(node.flags));
  RunInstruction out;
  out.mounts = flags.strings("mount");
  out.network = flags.string("network");
  out.security = flags.string("security");
  if (flags.used("network") && out.network != "default" && out.network != "none" &&
      out.network != "host") {
    return fail("RUN --network={}: not supported (use default, none or host)", out.network);
  }
  if (flags.used("security") && out.security != "sandbox" && out.security != "insecure") {
    return fail("RUN --security={}: not supported (use sandbox or insecure)", out.security);
  }
  out.command = command_line(node);
  if (out.command.args.empty()) return fail("RUN requires at least one argument");
  for (const Heredoc& h : node.heredocs) out.files.push_back({h.name, h.content, h.chomp});
  return out;
}

Result<InstructionBody> parse_copy(const Node& node) {
  FlagSet flags("COPY");
  for (const char* name : {"from", "chown", "chmod"}) flags.add_string(name);
  flags.add_bool("link");
  flags.add_bool("parents");
  flags.add_strings("exclude");
  Sources sources = SLW_TRY(parse_sources(node, "COPY"));
  SLW_TRY(flags.parse(node.flags));
  if (flags.used("from") && flags.string("from").empty()) return fail("COPY --from= needs a value");
  return CopyInstruction{std::move(sources.paths), std::move(sources.inline_sources),
                         std::move(sources.dest),  flags.string("from"),
                         flags.string("chown"),    flags.string("chmod"),
                         flags.boolean("link"),    flags.boolean("parents"),
                         flags.strings("exclude")};
}

Result<InstructionBody> parse_add(const Node& node) {
  FlagSet flags("ADD");
  for (const char* name : {"chown", "chmod", "checksum"}) flags.add_string(name);
  flags.add_bool("link");
  flags.add_bool("keep-git-dir");
  flags.add_strings("exclude");
  Sources sources = SLW_TRY(parse_sources(node, "ADD"));
  SLW_TRY(flags.parse(node.flags));
  return AddInstruction{std::move(sources.paths), std::move(sources.inline_sources),
                        std::move(sources.dest),  flags.string("chown"),
                        flags.string("chmod"),    flags.string("checksum"),
                        flags.boolean("link"),    flags.boolean("keep-git-dir"),
                        flags.strings("exclude")};
}

Result<InstructionBody> parse_from(const Node& node) {
  const auto& args = node.args;
  std::string name;
  if (args.size() == 3 && upper(args[1]) == "AS") {
    name = ascii_lower(args[2]);
    const bool valid = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
                       std::all_of(name.begin(), name.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                                c == '_' || c == '.';
                       });
    if (!valid) {
      return fail(
          "invalid name for build stage: \"{}\", name can't start with a number or "
          "contain symbols",
          args[2]);
    }
  } else if (args.size() != 1) {
    return fail("FROM requires either one or three arguments (FROM image [AS name])");
  }
  FlagSet flags("FROM");
  flags.add_string("platform");
  SLW_TRY(flags.parse(node.flags));
  return FromInstruction{args[0], name, flags.string("platform")};
}

Result<InstructionBody> parse_body(const Node& node, std::string_view file) {
  const std::string& k = node.keyword;
  const std::string keyword = upper(k);
  if (k == "from") return parse_from(node);
  if (k == "run") return parse_run(node);
  if (k == "copy") return parse_copy(node);
  if (k == "add") return parse_add(node);
  if (k == "healthcheck") return parse_healthcheck(node);
  if (k == "onbuild") return parse_onbuild(node, file);
  if (k == "cmd" || k == "entrypoint") {
    SLW_TRY(no_flags(node, keyword));
    CommandLine cmd = command_line(node);
    if (cmd.shell_form && cmd.args.empty())
      return fail("{} requires at least one argument", keyword);
    if (k == "cmd") return CmdInstruction{std::move(cmd)};
    return EntrypointInstruction{std::move(cmd)};
  }
  if (k == "shell") {
    SLW_TRY(no_flags(node, keyword));
    if (node.args.empty()) return fail("SHELL requires at least one argument");
    if (!node.json) return fail("SHELL requires the arguments to be in JSON form");
    return ShellInstruction{node.args};
  }
  if (k == "env") return EnvInstruction{SLW_TRY(key_values(node, keyword))};
  if (k == "label") return LabelInstruction{SLW_TRY(key_values(node, keyword))};
  if (k == "arg") {
    SLW_TRY(no_flags(node, keyword));
    if (node.args.empty()) return fail("ARG requires at least one argument");
    ArgInstruction out;
    for (const std::string& word : node.args) {
      const std::size_t eq = word.find('=');
      if (eq == 0) return fail("ARG names can not be blank");
      if (eq == std::string::npos) {
        out.args.push_back({word, std::nullopt});
      } else {
        out.args.push_back({word.substr(0, eq), word.substr(eq + 1)});
      }
    }
    return out;
  }
  if (k == "expose") {
    SLW_TRY(no_flags(node, keyword));
    if (node.args.empty()) return fail("EXPOSE requires at least one argument");
    return ExposeInstruction{node.args};
  }
  if (k == "volume") {
    SLW_TRY(no_flags(node, keyword));
    if (node.args.empty()) return fail("VOLUME requires at least one argument");
    VolumeInstruction out;
    for (const std::string& path : node.args) {
      std::string_view trimmed = trim_unicode_space(path);
      if (trimmed.empty()) return fail("VOLUME specified can not be an empty string");
      out.paths.emplace_back(trimmed);
    }
    return out;
  }
  if (k == "user") return UserInstruction{SLW_TRY(exactly_one(node, keyword))};
  if (k == "workdir") return WorkdirInstruction{SLW_TRY(exactly_one(node, keyword))};
  if (k == "stopsignal") return StopSignalInstruction{SLW_TRY(exactly_one(node, keyword))};
  if (k == "maintainer") return MaintainerInstruction{SLW_TRY(exactly_one(node, keyword))};
  return fail(unknown_instruction(k));
}

}  // namespace

Result<Instruction> parse_instruction(const Node& node, std::string_view file) {
  auto body = parse_body(node, file);
  if (!body) return fail("{}:{}: {}", file, node.start_line, body.error().message());
  return Instruction{std::move(*body), upper(node.keyword),
                     std::string(trim_unicode_space(node.original)), node.start_line,
                     node.end_line};
}

Result<Dockerfile> parse_dockerfile(Ast ast) {
  Dockerfile out;
  bool seen_from = false;
  for (const Node& node : ast.nodes) {
    Instruction instruction = SLW_TRY(parse_instruction(node, ast.file));
    if (instruction.as<FromInstruction>()) seen_from = true;
    if (!seen_from && !instruction.as<ArgInstruction>()) {
      return fail("{}:{}: {} before the first FROM: only ARG may come before FROM", ast.file,
                  node.start_line, instruction.keyword);
    }
    out.instructions.push_back(std::move(instruction));
  }
  out.ast = std::move(ast);
  return out;
}

Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view file) {
  return parse_dockerfile(SLW_TRY(parse_dockerfile_ast(text, file)));
}

RunPlan plan_run(const RunInstruction& run) {
  RunPlan plan{run.command, std::nullopt, ""};
  if (run.files.empty() || !run.command.shell_form || run.command.args.size() != 1) return plan;
  auto lone = parse_heredoc(run.command.args[0]);
  if (lone && *lone) {
    const InlineFile& file = run.files[0];
    std::string data = file.chomp ? chomp_heredoc(file.data) : file.data;
    if (data.starts_with("#!")) {
      plan.executable_path = "/dev/pipes/" + file.name;
      plan.command = {{plan.executable_path}, false};
      plan.executable = InlineFile{file.name, std::move(data), false};
    } else {
      plan.command = {{std::move(data)}, true};
    }
    return plan;
  }
  std::string full = run.command.args[0];
  for (const InlineFile& file : run.files) full += "\n" + file.data + file.name;
  plan.command = {{std::move(full)}, true};
  return plan;
}

}  // namespace slipway::oci
