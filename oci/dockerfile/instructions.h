// Typed Dockerfile instructions (buildkit's instructions package): the parse tree checked for
// argument counts, flags and forms, one struct per instruction. Values are still as written:
// substitution of $VARS happens per stage when building (see dockerfile_expand.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "oci/dockerfile/ast.h"

namespace slipway::oci {

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// ARG name[=default]: a declaration without default has no value.
struct ArgDecl {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const ArgDecl&) const = default;
};

// Exec form (JSON array: run as is) or shell form (one string, run through the stage's SHELL).
struct CommandLine {
  std::vector<std::string> args;
  bool shell_form = false;
  bool operator==(const CommandLine&) const = default;
};

// A RUN heredoc: a file whose content the command reads.
struct InlineFile {
  std::string name;
  std::string data;  // as written; strip leading tabs (chomp_heredoc) when chomp is set
  bool chomp = false;
};

// A COPY/ADD heredoc source: a file made from the Dockerfile's own text.
struct InlineSource {
  std::string name;    // the terminator, also the file name when the destination is a directory
  std::string data;    // already chomped for <<-
  bool expand = true;  // $VARS in data are substituted (terminator was not quoted)
};

struct FromInstruction {
  std::string image;       // as written, e.g. "golang:${GO_VERSION}" or a stage name
  std::string stage_name;  // lower case, "" when no AS
  std::string platform;    // --platform, as written
};
struct RunInstruction {
  CommandLine command;
  std::vector<InlineFile> files;
  std::vector<std::string> mounts;  // raw --mount values
  std::string network;              // --network: "", default, none or host
  std::string security;             // --security: "", sandbox or insecure
};
struct CmdInstruction {
  CommandLine command;
};
struct EntrypointInstruction {
  CommandLine command;
};
struct CopyInstruction {
  std::vector<std::string> sources;  // paths (or, for ADD, URLs and git refs)
  std::vector<InlineSource> inline_sources;
  std::string dest;
  std::string from;  // --from: a stage name, a stage index or an image reference
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;
};
struct AddInstruction {
  std::vector<std::string> sources;
  std::vector<InlineSource> inline_sources;
  std::string dest;
  std::string chown;
  std::string chmod;
  std::string checksum;
  bool link = false;
  bool keep_git_dir = false;
  std::vector<std::string> excludes;
};
struct EnvInstruction {
  std::vector<KeyValue> vars;
};
struct ArgInstruction {
  std::vector<ArgDecl> args;
};
struct LabelInstruction {
  std::vector<KeyValue> labels;
};
struct ExposeInstruction {
  std::vector<std::string> ports;  // "80", "53/udp", "$PORT"
};
struct UserInstruction {
  std::string user;
};
struct WorkdirInstruction {
  std::string path;
};
struct VolumeInstruction {
  std::vector<std::string> paths;
};
struct StopSignalInstruction {
  std::string signal;
};
struct HealthcheckInstruction {
  // {"NONE"}, {"CMD", exec args...} or {"CMD-SHELL", command}: the image config's Healthcheck.Test.
  std::vector<std::string> test;
  std::chrono::nanoseconds interval{0};  // 0: the runtime's default
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval{0};
  int retries = 0;
};
struct ShellInstruction {
  std::vector<std::string> shell;
};
struct OnbuildInstruction {
  std::string expression;  // the trigger as written, heredoc bodies appended: "RUN make"
};
struct MaintainerInstruction {
  std::string maintainer;
};

using InstructionBody =
    std::variant<FromInstruction, RunInstruction, CmdInstruction, EntrypointInstruction,
                 CopyInstruction, AddInstruction, EnvInstruction, ArgInstruction, LabelInstruction,
                 ExposeInstruction, UserInstruction, WorkdirInstruction, VolumeInstruction,
                 StopSignalInstruction, HealthcheckInstruction, ShellInstruction,
                 OnbuildInstruction, MaintainerInstruction>;

struct Instruction {
  InstructionBody body;
  std::string keyword;  // upper case: "COPY"
  std::string text;     // the instruction as written (continuations joined), for logs and keys
  int start_line = 0;
  int end_line = 0;

  template <class T>
  const T* as() const {
    return std::get_if<T>(&body);
  }
  template <class T>
  T* as() {
    return std::get_if<T>(&body);
  }
};

struct Dockerfile {
  Ast ast;
  std::vector<Instruction> instructions;
  const std::string& file() const { return ast.file; }
  char escape() const { return ast.escape; }
};

// One node -> one instruction; errors read "<file>:<line>: <what is wrong>".
Result<Instruction> parse_instruction(const Node& node, std::string_view file);

// Text -> parse tree -> instructions. Only ARG may come before the first FROM.
Result<Dockerfile> parse_dockerfile(std::string_view text, std::string_view file = "Dockerfile");
Result<Dockerfile> parse_dockerfile(Ast ast);

// How a RUN with heredocs runs, as in buildkit: a lone `<<EOF` whose body starts with "#!" runs
// the body as an executable file (mounted at executable_path); a lone `<<EOF` otherwise runs the
// body as the shell command; anything else runs the line with the bodies appended for the shell.
struct RunPlan {
  CommandLine command;
  std::optional<InlineFile> executable;  // chomped when the heredoc asked for it
  std::string executable_path;           // "/dev/pipes/<name>" when executable is set
};
RunPlan plan_run(const RunInstruction& run);

}  // namespace slipway::oci
