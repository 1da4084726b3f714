// Variable substitution applied per instruction, as Docker does it when it reaches the
// instruction in a stage: ENV, LABEL and ARG keys and values; ADD and COPY sources, destination,
// --chown, --chmod, --checksum, --exclude and unquoted heredoc bodies; WORKDIR, USER, STOPSIGNAL,
// VOLUME and EXPOSE. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD and MAINTAINER are left to
// the shell at run time; FROM and COPY --from see only global ARGs (plan_stages expands them).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/substitution.h"

namespace slipway::oci {

struct ExpandedInstruction {
  Instruction instruction;      // the same instruction with its words substituted
  std::set<std::string> used;   // variables it referenced that were set: part of its cache key
  std::set<std::string> unset;  // variables it referenced that were not set
};

// `vars` are the variables in scope right before the instruction (ENV over ARG); all words of
// one instruction see the same values, so `ENV A=1 B=$A` gives B the A from before. Errors read
// "Dockerfile:7: WORKDIR: failed to process "${DIR:?}": DIR: is not allowed to be empty".
Result<ExpandedInstruction> expand_instruction(const Instruction& instruction, const VarMap& vars,
                                               char escape, std::string_view file);

// True for the instructions whose words Docker substitutes (see above).
bool instruction_expands(const Instruction& instruction);

}  // namespace slipway::oci
