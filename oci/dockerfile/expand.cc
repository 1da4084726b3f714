#include "oci/dockerfile/expand.h"

#include <type_traits>

namespace slipway::oci {
namespace {

class Expander {
 public:
  Expander(const VarMap& vars, char escape) : vars_(vars) { options_.escape = escape; }

  Status word(std::string& text) {
    Substitution s = SLW_TRY(substitute(text, vars_, options_));
    record(s);
    text = std::move(s.word);
    return {};
  }

  Status words(std::vector<std::string>& list) {
    for (std::string& text : list) SLW_TRY(word(text));
    return {};
  }

  // EXPOSE splits each argument after substitution: EXPOSE $PORTS with PORTS="80 443".
  Status split(std::vector<std::string>& list) {
    std::vector<std::string> out;
    for (const std::string& text : list) {
      Substitution s = SLW_TRY(substitute(text, vars_, options_));
      record(s);
      out.insert(out.end(), s.words.begin(), s.words.end());
    }
    list = std::move(out);
    return {};
  }

  // Heredoc bodies are scripts or file contents: only $VARS change, quotes stay, and the escape
  // character is always a backslash.
  Status inline_sources(std::vector<InlineSource>& sources) {
    ShellLexOptions raw;
    raw.skip_quotes = true;
    for (InlineSource& source : sources) {
      if (!source.expand) continue;
      Substitution s = SLW_TRY(substitute(source.data, vars_, raw));
      record(s);
      source.data = std::move(s.word);
    }
    return {};
  }

  Status pairs(std::vector<KeyValue>& list) {
    for (KeyValue& kv : list) {
      SLW_TRY(word(kv.key));
      SLW_TRY(word(kv.value));
    }
    return {};
  }

  std::set<std::string> used;
  std::set<std::string> unset;

 private:
  void record(const Substitution& s) {
    used.insert(s.used.begin(), s.used.end());
    unset.insert(s.unset.begin(), s.unset.end());
  }

  const VarMap& vars_;
  ShellLexOptions options_;
};

template <class T>
Status expand_sources(Expander& e, T& copy) {
  SLW_TRY(e.words(copy.sources));
  SLW_TRY(e.word(copy.dest));
  SLW_TRY(e.word(copy.chown));
  SLW_TRY(e.word(copy.chmod));
  SLW_TRY(e.words(copy.excludes));
  return e.inline_sources(copy.inline_sources);
}

}  // namespace

bool instruction_expands(const Instruction& instruction) {
  return std::visit(
      [](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        return std::is_same_v<T, EnvInstruction> || std::is_same_v<T, LabelInstruction> ||
               std::is_same_v<T, ArgInstruction> || std::is_same_v<T, CopyInstruction> ||
               std::is_same_v<T, AddInstruction> || std::is_same_v<T, WorkdirInstruction> ||
               std::is_same_v<T, UserInstruction> || std::is_same_v<T, StopSignalInstruction> ||
               std::is_same_v<T, VolumeInstruction> || std::is_same_v<T, ExposeInstruction>;
      },
      instruction.body);
}

Result<ExpandedInstruction> expand_instruction(const Instruction& instruction, const VarMap& vars,
                                               char escape, std::string_view file) {
  ExpandedInstruction out{instruction, {}, {}};
  Expander e(vars, escape);
  Status status = std::visit(
      [&](auto& body) -> Status {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, EnvInstruction>) {
          return e.pairs(body.vars);
        } else if constexpr (std::is_same_v<T, LabelInstruction>) {
          return e.pairs(body.labels);
        } else if constexpr (std::is_same_v<T, ArgInstruction>) {
          for (ArgDecl& arg : body.args) {
            SLW_TRY(e.word(arg.key));
            if (arg.value) SLW_TRY(e.word(*arg.value));
          }
          return {};
        } else if constexpr (std::is_same_v<T, CopyInstruction>) {
          return expand_sources(e, body);
        } else if constexpr (std::is_same_v<T, AddInstruction>) {
          SLW_TRY(e.word(body.checksum));
          return expand_sources(e, body);
        } else if constexpr (std::is_same_v<T, WorkdirInstruction>) {
          return e.word(body.path);
        } else if constexpr (std::is_same_v<T, UserInstruction>) {
          return e.word(body.user);
        } else if constexpr (std::is_same_v<T, StopSignalInstruction>) {
          return e.word(body.signal);
        } else if constexpr (std::is_same_v<T, VolumeInstruction>) {
          return e.words(body.paths);
        } else if constexpr (std::is_same_v<T, ExposeInstruction>) {
          return e.split(body.ports);
        } else {
          return {};
        }
      },
      out.instruction.body);
  if (!status) {
    return fail("{}:{}: {}: {}", file, instruction.start_line, instruction.keyword,
                status.error().message());
  }
  out.used = std::move(e.used);
  out.unset = std::move(e.unset);
  return out;
}

}  // namespace slipway::oci
