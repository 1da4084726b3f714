// Dockerfile text -> parse tree (Ast), buildkit's frontend/dockerfile/parser: parser directives
// (`# syntax=`, `# escape=`), comments, line continuations (also across comment and empty lines),
// heredocs, flags and each instruction's argument form. Typing comes after (instructions).
#pragma once

#include <string_view>

#include "base/error.h"
#include "oci/dockerfile/ast.h"

namespace slipway::oci {

// `file` names the Dockerfile in errors: "Dockerfile:7: unterminated heredoc <<EOF".
Result<Ast> parse_dockerfile_ast(std::string_view text, std::string_view file = "Dockerfile");

}  // namespace slipway::oci
