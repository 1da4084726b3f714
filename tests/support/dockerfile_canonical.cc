#include "tests/support/dockerfile_canonical.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "oci/dockerfile/text.h"

namespace slipway::oci {
namespace {

using nlohmann::json;

// A string as JSON. Bytes that are not UTF-8 (JSON cannot hold them) become {"bytes": Go-quoted},
// which no valid string maps to, so distinct instructions keep distinct texts.
json str(const std::string& text) {
  for (std::size_t pos = 0; pos < text.size();) {
    DecodedRune d = decode_utf8(text, pos);
    if (!d.valid) return json{{"bytes", go_quote(text)}};
    pos += d.size;
  }
  return text;
}

json strs(const std::vector<std::string>& list) {
  json out = json::array();
  for (const std::string& text : list) out.push_back(str(text));
  return out;
}

json command(const CommandLine& cmd) {
  return json{{"args", strs(cmd.args)}, {"shell_form", cmd.shell_form}};
}

json pairs(const std::vector<KeyValue>& list) {
  json out = json::array();
  for (const KeyValue& kv : list) out.push_back(json::array({str(kv.key), str(kv.value)}));
  return out;
}

json inline_sources(const std::vector<InlineSource>& sources) {
  json out = json::array();
  for (const InlineSource& s : sources) {
    out.push_back(json{{"name", str(s.name)}, {"data", str(s.data)}, {"expand", s.expand}});
  }
  return out;
}

json body_json(const InstructionBody& body) {
  return std::visit(
      [](const auto& b) -> json {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, FromInstruction>) {
          return {
              {"image", str(b.image)}, {"name", str(b.stage_name)}, {"platform", str(b.platform)}};
        } else if constexpr (std::is_same_v<T, RunInstruction>) {
          json files = json::array();
          for (const InlineFile& f : b.files) {
            files.push_back(json{{"name", str(f.name)}, {"data", str(f.data)}, {"chomp", f.chomp}});
          }
          return {{"command", command(b.command)},
                  {"files", files},
                  {"mounts", strs(b.mounts)},
                  {"network", str(b.network)},
                  {"security", str(b.security)}};
        } else if constexpr (std::is_same_v<T, CmdInstruction> ||
                             std::is_same_v<T, EntrypointInstruction>) {
          return {{"command", command(b.command)}};
        } else if constexpr (std::is_same_v<T, CopyInstruction>) {
          return {{"sources", strs(b.sources)},
                  {"inline", inline_sources(b.inline_sources)},
                  {"dest", str(b.dest)},
                  {"from", str(b.from)},
                  {"chown", str(b.chown)},
                  {"chmod", str(b.chmod)},
                  {"link", b.link},
                  {"parents", b.parents},
                  {"exclude", strs(b.excludes)}};
        } else if constexpr (std::is_same_v<T, AddInstruction>) {
          return {{"sources", strs(b.sources)},
                  {"inline", inline_sources(b.inline_sources)},
                  {"dest", str(b.dest)},
                  {"chown", str(b.chown)},
                  {"chmod", str(b.chmod)},
                  {"checksum", str(b.checksum)},
                  {"link", b.link},
                  {"keep_git_dir", b.keep_git_dir},
                  {"exclude", strs(b.excludes)}};
        } else if constexpr (std::is_same_v<T, EnvInstruction>) {
          return {{"vars", pairs(b.vars)}};
        } else if constexpr (std::is_same_v<T, LabelInstruction>) {
          return {{"labels", pairs(b.labels)}};
        } else if constexpr (std::is_same_v<T, ArgInstruction>) {
          json args = json::array();
          for (const ArgDecl& a : b.args) {
            args.push_back(a.value ? json::array({str(a.key), str(*a.value)})
                                   : json::array({str(a.key)}));
          }
          return {{"args", args}};
        } else if constexpr (std::is_same_v<T, ExposeInstruction>) {
          return {{"ports", strs(b.ports)}};
        } else if constexpr (std::is_same_v<T, UserInstruction>) {
          return {{"user", str(b.user)}};
        } else if constexpr (std::is_same_v<T, WorkdirInstruction>) {
          return {{"path", str(b.path)}};
        } else if constexpr (std::is_same_v<T, VolumeInstruction>) {
          return {{"paths", strs(b.paths)}};
        } else if constexpr (std::is_same_v<T, StopSignalInstruction>) {
          return {{"signal", str(b.signal)}};
        } else if constexpr (std::is_same_v<T, HealthcheckInstruction>) {
          return {{"test", strs(b.test)},
                  {"interval_ns", b.interval.count()},
                  {"timeout_ns", b.timeout.count()},
                  {"start_period_ns", b.start_period.count()},
                  {"start_interval_ns", b.start_interval.count()},
                  {"retries", b.retries}};
        } else if constexpr (std::is_same_v<T, ShellInstruction>) {
          return {{"shell", strs(b.shell)}};
        } else if constexpr (std::is_same_v<T, OnbuildInstruction>) {
          return {{"expression", str(b.expression)}};
        } else {
          static_assert(std::is_same_v<T, MaintainerInstruction>);
          return {{"maintainer", str(b.maintainer)}};
        }
      },
      body);
}

}  // namespace

std::string canonical_instruction(const Instruction& instruction) {
  json out = body_json(instruction.body);
  out["type"] = instruction.keyword;
  return out.dump();
}

}  // namespace slipway::oci
