#include "cli/format_output.h"

#include <algorithm>
#include <sstream>

#include "base/go_template.h"

namespace slipway::cli {

namespace {

constexpr std::string_view kTablePrefix = "table";
constexpr size_t kColumnPadding = 3;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!text.empty() && text.back() == sep) out.emplace_back();
  return out;
}

}  // namespace

std::string align_columns(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& line : split(text, '\n')) rows.push_back(split(line, '\t'));
  // The text ends with a newline: no row after it.
  if (!rows.empty() && (rows.back().empty() || (rows.back().size() == 1 && rows.back()[0].empty()))) rows.pop_back();
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.resize(c + 1, 0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + kColumnPadding, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

Result<std::string> format_items(const std::vector<nlohmann::json>& items, const std::string& format,
                                 const nlohmann::json& header) {
  if (format == "json") {
    std::string out;
    for (const auto& item : items) out += item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return out;
  }
  bool table = format.starts_with(kTablePrefix) &&
               (format.size() == kTablePrefix.size() || format[kTablePrefix.size()] == ' ');
  std::string body = table ? format.substr(std::min(format.size(), kTablePrefix.size() + 1)) : format;
  if (table && body.empty()) return fail("--format table: give the columns, e.g. \"table {{{{.ID}}}}\\t{{{{.Names}}}}\"");
  // Docker's formats are written with \t for "tab" and \n for "newline" in the shell's quotes.
  for (auto [from, to] : {std::pair{"\\t", "\t"}, std::pair{"\\n", "\n"}})
    for (size_t at; (at = body.find(from)) != std::string::npos;) body.replace(at, 2, to);
  GoTemplate t = SLW_TRY(with_context(GoTemplate::parse(body), "--format"));
  std::string out;
  if (table && !header.is_null()) out += SLW_TRY(with_context(t.render(header), "--format")) + "\n";
  for (const auto& item : items) out += SLW_TRY(with_context(t.render(item), "--format")) + "\n";
  return table ? align_columns(out) : out;
}

}  // namespace slipway::cli
