// What the readers of config.json share (oci_config.cc, oci_resources.cc): a JSON value with the
// path to it, so that every error names the field. Internal to engine/.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/oci_config.h"

namespace slipway::engine::oci_json {

using nlohmann::json;

// A required field that is absent; thrown by Field::at, caught in parse_oci_config.
struct MissingField {
  std::string path;
};

// A field's value with the path to it, so that every error names the field.
struct Field {
  const json& value;
  std::string path;

  // A required member.
  Field at(std::string_view key) const {
    const json* v = find(key);
    if (!v) throw MissingField{join(key)};
    return {*v, join(key)};
  }
  Field at(size_t i) const { return {value[i], fmt::format("{}[{}]", path, i)}; }
  const json* find(std::string_view key) const {
    auto it = value.find(std::string(key));
    return it == value.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<Field> member(std::string_view key) const {
    if (const json* v = find(key)) return Field{*v, join(key)};
    return std::nullopt;
  }
  std::string join(std::string_view key) const { return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key); }

  Error error(std::string_view what) const {
    return Error(0, path.empty() ? std::string(what) : fmt::format("{}: {}", path, what));
  }
  Status expect(json::value_t type, std::string_view name) const {
    if (value.type() == type || (type == json::value_t::number_unsigned && value.is_number_integer()))
      return {};
    return std::unexpected(error(fmt::format("must be {}", name)));
  }
  Result<std::string> string() const {
    if (!value.is_string()) return std::unexpected(error("must be a string"));
    return value.get<std::string>();
  }
  Result<bool> boolean() const {
    if (!value.is_boolean()) return std::unexpected(error("must be true or false"));
    return value.get<bool>();
  }
  Result<int64_t> integer() const {
    if (!value.is_number_integer()) return std::unexpected(error("must be an integer"));
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return std::unexpected(error("is too large"));
    return value.get<int64_t>();
  }
  Result<uint64_t> unsigned_integer() const {
    if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<int64_t>() < 0))
      return std::unexpected(error("must be a non-negative integer"));
    return value.get<uint64_t>();
  }
  Result<std::vector<Field>> array() const {
    if (!value.is_array()) return std::unexpected(error("must be an array"));
    std::vector<Field> items;
    for (size_t i = 0; i < value.size(); ++i) items.push_back(at(i));
    return items;
  }
  Result<std::vector<std::string>> strings() const {
    std::vector<std::string> out;
    for (const Field& f : SLW_TRY(array())) out.push_back(SLW_TRY(f.string()));
    return out;
  }
  Status object() const { return expect(json::value_t::object, "an object"); }
};

inline Status unknown(const Field& f, std::string_view what, std::string_view value) {
  return std::unexpected(f.error(fmt::format("unknown {} \"{}\"", what, value)));
}

// Parses `text` and runs `read` on its root, a Field named `name` ("process"; "" for config.json
// itself): bad JSON, a missing required field and read's own errors come back as one line,
// prefixed with `context` when it is not empty.
template <class Read>
Status read_document(std::string_view text, std::string_view name, std::string_view context, Read read) {
  auto in_context = [&](Status st) { return context.empty() ? st : with_context(std::move(st), context); };
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return in_context(name.empty() ? fail("not JSON: {}", e.what()) : fail("{}: not JSON: {}", name, e.what()));
  }
  try {
    return in_context(read(Field{doc, std::string(name)}));
  } catch (const MissingField& missing) {
    return in_context(fail("{}: is required", missing.path));
  }
}

// linux.resources (also `update --resources`).
Status read_resources(const Field& resources, OciBundle& bundle);

}  // namespace slipway::engine::oci_json
