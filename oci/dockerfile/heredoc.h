// Here-documents in RUN, COPY and ADD: finding `<<EOF` words in an instruction line and reading
// their terminators the way buildkit does (quoting any part of the word turns expansion off).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/dockerfile/ast.h"

namespace slipway::oci {

// "<<EOF", "<<-EOF", "<<'EOF'", "3<<EOF", "<< EOF" -> a heredoc without content; nullopt when the
// word is no heredoc ("<<", "<EOF", "<<EOF sh"); an error for a broken one ("<<'EOF").
Result<std::optional<Heredoc>> parse_heredoc(std::string_view word);

// Every heredoc word of an instruction line, in order. Quoted "<<EOF" is no heredoc.
Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line);

// The body of a `<<-` heredoc: leading tabs removed from every line.
std::string chomp_heredoc(std::string_view content);

// RUN, COPY and ADD in shell form (also behind ONBUILD) may carry heredocs.
bool can_contain_heredoc(const Node& node);

}  // namespace slipway::oci
