// A canonical text for a typed instruction, for tests of the parser: the same instruction always
// gives the same bytes, however it was written (spacing, line continuations, `ENV a b` or
// `ENV a=b`, flag order), and any change of meaning changes them. (The builder's cache keys name
// each instruction's fields themselves, in oci/build/plan.cc.)
#pragma once

#include <string>

#include "oci/dockerfile/instructions.h"

namespace slipway::oci {

// Compact JSON with sorted keys, e.g. {"cmd":["make"],"shell_form":true,"type":"RUN"}.
// Comments, line numbers and the original text are left out; heredoc bodies are included.
std::string canonical_instruction(const Instruction& instruction);

}  // namespace slipway::oci
