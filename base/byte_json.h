// JSON strings must be valid UTF-8, but argv, environment, paths and labels are any bytes except
// NUL. Records that hold them go through these two passes: a string that is not valid UTF-8 is
// stored as "\u0000" followed by its bytes in hex, which no kernel string can be mistaken for
// (none holds a NUL), and comes back byte for byte. Object keys are treated the same way.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace slipway {

bool valid_utf8(std::string_view s);

// In place, over the whole document.
void encode_byte_strings(nlohmann::json& doc);
void decode_byte_strings(nlohmann::json& doc);

// encode_byte_strings, then dump: never throws for bytes in strings.
std::string dump_byte_safe(nlohmann::json doc, int indent = -1);

}  // namespace slipway
