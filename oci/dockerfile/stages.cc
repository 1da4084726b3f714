#include "oci/dockerfile/stages.h"

#include <algorithm>
#include <array>

#include "base/ascii.h"
#include "oci/reference.h"

namespace slipway::oci {
namespace {

constexpr std::array<std::string_view, 10> kProxyArgs = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
    "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string stage_label(const Stage& stage) {
  return stage.name.empty() ? fmt::format("#{}", stage.index) : stage.name;
}

class Planner {
 public:
  Planner(const Dockerfile& dockerfile, const StageOptions& options)
      : df_(dockerfile), options_(options) {}

  Result<StagePlan> run() {
    SLW_TRY(split_stages());
    if (plan_.stages.empty()) {
      return fail("{}: no FROM instruction: the Dockerfile has no stage to build", df_.file());
    }
    for (Stage& stage : plan_.stages) SLW_TRY(resolve_copy_from(stage));
    SLW_TRY(pick_target());
    std::vector<int> state(plan_.stages.size(), 0);
    SLW_TRY(visit(plan_.target, state));
    find_unused_build_args();
    return std::move(plan_);
  }

 private:
  Result<std::string> global_word(const std::string& text, const Instruction& at,
                                  std::set<std::string>* used) {
    ShellLexOptions lex;
    lex.escape = df_.escape();
    auto s = substitute(text, plan_.global_values, lex);
    if (!s)
      return fail("{}:{}: {}: {}", df_.file(), at.start_line, at.keyword, s.error().message());
    if (used) used->insert(s->used.begin(), s->used.end());
    return std::move(s->word);
  }

  // Global ARGs are resolved in order, each default seeing the ones before it; a build arg
  // replaces the default.
  Status declare_global(const Instruction& instruction) {
    for (const ArgDecl& decl : instruction.as<ArgInstruction>()->args) {
      plan_.global_args.push_back(decl);
      if (auto it = options_.build_args.find(decl.key); it != options_.build_args.end()) {
        plan_.global_values[decl.key] = it->second;
      } else if (decl.value) {
        plan_.global_values[decl.key] = SLW_TRY(global_word(*decl.value, instruction, nullptr));
      }
    }
    return {};
  }

  Status split_stages() {
    plan_.global_values = options_.predefined_args;
    for (const Instruction& instruction : df_.instructions) {
      if (const auto* from = instruction.as<FromInstruction>()) {
        SLW_TRY(start_stage(instruction, *from));
      } else if (plan_.stages.empty()) {
        SLW_TRY(declare_global(instruction));  // parse_dockerfile lets only ARG come first
      } else {
        plan_.stages.back().instructions.push_back(instruction);
      }
    }
    return {};
  }

  Status start_stage(const Instruction& instruction, const FromInstruction& from) {
    Stage stage;
    stage.index = plan_.stages.size();
    stage.name = from.stage_name;
    stage.line = instruction.start_line;
    stage.base = SLW_TRY(global_word(from.image, instruction, &stage.used_args));
    if (stage.base.empty()) {
      return fail("{}:{}: FROM {}: the base image name is empty after substitution", df_.file(),
                  stage.line, from.image);
    }
    stage.platform = SLW_TRY(global_word(from.platform, instruction, &stage.used_args));
    for (const Stage& earlier : plan_.stages) {
      if (!stage.name.empty() && earlier.name == stage.name) {
        return fail("{}:{}: duplicate stage name \"{}\" (first used on line {})", df_.file(),
                    stage.line, stage.name, earlier.line);
      }
      if (stage.base != "scratch" && !earlier.name.empty() && earlier.name == ascii_lower(stage.base)) {
        stage.base_stage = earlier.index;
      }
    }
    if (!stage.base_stage) {
      if (stage.base == "scratch") {
        stage.scratch = true;
      } else if (auto ref = parse_reference(stage.base); !ref) {
        return fail("{}:{}: FROM {}: not an earlier stage and not a valid image reference: {}",
                    df_.file(), stage.line, stage.base, ref.error().message());
      }
    }
    plan_.stages.push_back(std::move(stage));
    return {};
  }

  // --from: a stage index, a stage name (any stage but this one), or else an image reference.
  Status resolve_copy_from(Stage& stage) {
    for (std::size_t i = 0; i < stage.instructions.size(); ++i) {
      const Instruction& instruction = stage.instructions[i];
      const auto* copy = instruction.as<CopyInstruction>();
      if (!copy || copy->from.empty()) continue;
      std::string from = SLW_TRY(global_word(copy->from, instruction, nullptr));
      auto where = [&] {
        return fmt::format("{}:{}: COPY --from={}", df_.file(), instruction.start_line, copy->from);
      };
      CopyFrom ref{i, std::nullopt, ""};
      if (all_digits(from)) {
        std::size_t index = 0;
        for (char c : from) index = std::min<std::size_t>(index * 10 + (c - '0'), 1u << 20);
        if (index >= plan_.stages.size()) {
          return fail("{}: invalid stage index {}: the Dockerfile has {} stages", where(), from,
                      plan_.stages.size());
        }
        ref.stage = index;
      } else {
        for (const Stage& other : plan_.stages) {
          if (!other.name.empty() && other.name == ascii_lower(from)) ref.stage = other.index;
        }
        if (!ref.stage) {
          if (auto image = parse_reference(from); !image) {
            return fail("{}: not a stage name, a stage index or a valid image reference: {}",
                        where(), image.error().message());
          }
          ref.image = from;
        }
      }
      if (ref.stage && *ref.stage == stage.index) {
        return fail("{}: a stage cannot copy from itself", where());
      }
      stage.copy_from.push_back(std::move(ref));
    }
    return {};
  }

  Status pick_target() {
    plan_.target = plan_.stages.size() - 1;
    if (options_.target.empty()) return {};
    const std::string wanted = ascii_lower(options_.target);
    for (const Stage& stage : plan_.stages) {
      if (!stage.name.empty() && stage.name == wanted) {
        plan_.target = stage.index;
        return {};
      }
    }
    std::string names;
    for (const Stage& stage : plan_.stages) {
      if (stage.name.empty()) continue;
      names += (names.empty() ? "" : ", ") + stage.name;
    }
    return fail("{}: target stage \"{}\" could not be found (named stages: {})", df_.file(),
                options_.target, names.empty() ? "none" : names);
  }

  // Depth-first from the target: post-order is a valid build order; a stage met again while
  // its own dependencies are being visited closes a cycle (possible through COPY --from).
  Status visit(std::size_t index, std::vector<int>& state) {
    if (state[index] == 2) return {};
    const Stage& stage = plan_.stages[index];
    if (state[index] == 1) {
      return fail("{}:{}: circular dependency detected on stage {}", df_.file(), stage.line,
                  stage_label(stage));
    }
    state[index] = 1;
    std::vector<std::size_t> deps;
    if (stage.base_stage) deps.push_back(*stage.base_stage);
    for (const CopyFrom& ref : stage.copy_from) {
      if (ref.stage) deps.push_back(*ref.stage);
    }
    for (std::size_t dep : deps) SLW_TRY(visit(dep, state));
    state[index] = 2;
    plan_.build_order.push_back(index);
    return {};
  }

  void find_unused_build_args() {
    std::set<std::string> declared;
    for (const ArgDecl& decl : plan_.global_args) declared.insert(decl.key);
    for (std::size_t index : plan_.build_order) {
      for (const Instruction& instruction : plan_.stages[index].instructions) {
        if (const auto* arg = instruction.as<ArgInstruction>()) {
          for (const ArgDecl& decl : arg->args) declared.insert(decl.key);
        }
      }
    }
    for (const auto& [key, value] : options_.build_args) {
      if (!declared.contains(key) && !is_proxy_arg(key) &&
          !options_.predefined_args.contains(key)) {
        plan_.unused_build_args.push_back(key);
      }
    }
  }

  const Dockerfile& df_;
  const StageOptions& options_;
  StagePlan plan_;
};

}  // namespace

bool is_proxy_arg(std::string_view name) {
  return std::find(kProxyArgs.begin(), kProxyArgs.end(), name) != kProxyArgs.end();
}

Result<StagePlan> plan_stages(const Dockerfile& dockerfile, const StageOptions& options) {
  return Planner(dockerfile, options).run();
}

void StageVariables::set_image_env(const std::vector<std::string>& env) {
  for (const std::string& entry : env) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      env_[entry] = "";
    } else {
      env_[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
}

void StageVariables::declare_arg(const ArgDecl& decl) {
  if (auto it = build_args_.find(decl.key); it != build_args_.end()) {
    args_[decl.key] = it->second;
  } else if (decl.value) {
    args_[decl.key] = *decl.value;
  } else if (auto global = global_values_.find(decl.key); global != global_values_.end()) {
    args_[decl.key] = global->second;
  }
}

void StageVariables::apply(const Instruction& expanded) {
  if (const auto* env = expanded.as<EnvInstruction>()) {
    for (const KeyValue& kv : env->vars) env_[kv.key] = kv.value;
  } else if (const auto* arg = expanded.as<ArgInstruction>()) {
    for (const ArgDecl& decl : arg->args) declare_arg(decl);
  }
}

VarMap StageVariables::substitution_vars() const {
  VarMap out = args_;
  for (const auto& [key, value] : env_) out[key] = value;
  return out;
}

std::vector<std::string> StageVariables::run_env() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : env_) out.push_back(key + "=" + value);
  for (const auto& [key, value] : args_) {
    if (!env_.contains(key)) out.push_back(key + "=" + value);
  }
  for (const auto& [key, value] : build_args_) {
    if (is_proxy_arg(key) && !env_.contains(key) && !args_.contains(key)) {
      out.push_back(key + "=" + value);
    }
  }
  return out;
}

}  // namespace slipway::oci
