// What each Dockerfile instruction does to the image config, with Docker's rules, and the history
// line it leaves. Pure functions over BuildConfig: no file system, no store.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/build/config.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/substitution.h"

namespace slipway::oci {

// The config of a stage being built, plus what Docker remembers about the stage itself.
struct StageConfig {
  BuildConfig image;
  bool cmd_set = false;  // CMD appeared in this stage: a later ENTRYPOINT keeps it
};

// Starts a stage on a base image's config: Docker drops the base's ONBUILD triggers (they run
// now, in this stage) and its created time.
StageConfig stage_config_from_base(BuildConfig base);

// Applies an instruction, already substituted, to the config. ENV, LABEL, EXPOSE, USER, WORKDIR,
// VOLUME, STOPSIGNAL, HEALTHCHECK, SHELL, CMD, ENTRYPOINT, ONBUILD and MAINTAINER change it; ARG,
// RUN, COPY and ADD do not. Errors read "Dockerfile:7: EXPOSE: invalid port "x"".
Status apply_to_config(StageConfig& stage, const Instruction& expanded, std::string_view file);

// True for the instructions that change only the config (and ARG): they never make a layer.
bool is_metadata_instruction(const Instruction& instruction);

// The argv a RUN, CMD or ENTRYPOINT command runs: exec form as is, shell form through `shell`.
std::vector<std::string> command_argv(const CommandLine& command,
                                      const std::vector<std::string>& shell);

// WORKDIR path against the current working dir: relative paths are joined to it, then cleaned.
std::string resolve_workdir(std::string_view current, std::string_view path);

// EXPOSE words -> "80/tcp" entries: ranges expanded, protocol lower case (tcp by default).
Result<std::vector<std::string>> normalize_ports(const std::vector<std::string>& words);

// The history `created_by` of an instruction as BuildKit writes it ("ENV A=1", "COPY a /b").
// For RUN pass its argv and the build args in scope, which Docker prefixes as "|N K=V ...".
std::string history_created_by(const Instruction& expanded,
                               const std::vector<std::string>& run_argv = {},
                               const VarMap& run_args = {});

}  // namespace slipway::oci
