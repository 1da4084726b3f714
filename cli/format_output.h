// --format for inspect and ps, as Docker spells it: a Go template (base/go_template.h) rendered
// for each item, one line each; "json" prints each item as one line of JSON; a "table " prefix adds
// a header row and aligns the tab-separated columns.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace slipway::cli {

// The lines --format makes of items. header: the column names for a "table" format (each field
// mapped to its title, e.g. {"ID": "CONTAINER ID"}). Errors name the template's problem.
Result<std::string> format_items(const std::vector<nlohmann::json>& items, const std::string& format,
                                 const nlohmann::json& header = nullptr);

// Lines of tab-separated cells with each column as wide as its widest cell plus 3 spaces (the last
// column unpadded), as Go's tabwriter does for Docker's tables.
std::string align_columns(const std::string& text);

}  // namespace slipway::cli
