#include "oci/dockerfile/flags.h"

#include <algorithm>
#include <cctype>

#include "base/ascii.h"

namespace slipway::oci {

Status FlagSet::parse(const std::vector<std::string>& written) {
  for (const std::string& arg : written) {
    if (!arg.starts_with("--")) return fail("{}: flags must start with --: {}", instruction_, arg);
    if (arg == "--") return {};
    std::string_view body = std::string_view(arg).substr(2);
    const std::size_t eq = body.find('=');
    const bool has_value = eq != std::string_view::npos;
    std::string_view name = has_value ? body.substr(0, eq) : body;
    std::string value(has_value ? body.substr(eq + 1) : std::string_view());
    auto it = flags_.find(name);
    if (it == flags_.end()) return fail("unknown flag for {}: --{}", instruction_, name);
    Flag& flag = it->second;
    if (flag.used && flag.type != Type::kStrings) {
      return fail("{}: flag --{} given more than once", instruction_, name);
    }
    flag.used = true;
    switch (flag.type) {
      case Type::kBool: {
        if (has_value && value.empty()) {
          return fail("{}: missing a value on flag --{}", instruction_, name);
        }
        std::string lower = ascii_lower(value);
        if (lower.empty()) lower = "true";
        if (lower != "true" && lower != "false") {
          return fail("{}: expecting a boolean value for flag --{}, not: {}", instruction_, name,
                      value);
        }
        flag.values = {lower};
        break;
      }
      case Type::kString:
        if (!has_value) return fail("{}: missing a value on flag --{}", instruction_, name);
        flag.values = {std::move(value)};
        break;
      case Type::kStrings:
        if (!has_value) return fail("{}: missing a value on flag --{}", instruction_, name);
        flag.values.push_back(std::move(value));
        break;
    }
  }
  return {};
}

const FlagSet::Flag& FlagSet::get(std::string_view name) const {
  static const Flag kUndeclared;
  auto it = flags_.find(name);
  return it == flags_.end() ? kUndeclared : it->second;
}

bool FlagSet::used(std::string_view name) const {
  return get(name).used;
}

bool FlagSet::boolean(std::string_view name) const {
  const Flag& flag = get(name);
  return !flag.values.empty() && flag.values[0] == "true";
}

const std::string& FlagSet::string(std::string_view name) const {
  static const std::string kEmpty;
  const Flag& flag = get(name);
  return flag.values.empty() ? kEmpty : flag.values[0];
}

const std::vector<std::string>& FlagSet::strings(std::string_view name) const {
  return get(name).values;
}

}  // namespace slipway::oci
