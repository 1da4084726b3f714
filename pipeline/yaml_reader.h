// Readers for a YAML document loaded by yaml-cpp, one per shape (map entries, list items, string,
// port, seconds, boolean, string map), each reporting a mistake as "FILE:LINE: what" and naming the
// value by its path ("steps.unit.timeout"). They know no file format; pipeline_file.cc holds one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <expected>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace slipway::pipeline {

class YamlReader {
 public:
  using Keys = std::initializer_list<std::string_view>;

  // A YAML value and where it came from: `path` is how messages name it ("steps.unit.timeout").
  struct Value {
    YAML::Node node;
    std::string path;
    int line = 1;  // 1-based
  };

  struct Entry {
    std::string key;
    int key_line = 1;
    Value value;
  };

  // `file` is what every message names.
  explicit YamlReader(const std::string& file) : file_(file) {}

  const std::string& file() const { return file_; }

  // ---- text for messages ----

  // Text fit for a one-line message: control bytes (and, when `ascii`, all non-ASCII) escaped.
  static std::string printable(std::string_view text, bool ascii);
  // A user's text quoted in a message, cut when long.
  static std::string shown(std::string_view text);
  // What a node is, for "want X, got Y": its text when a scalar, else "a list", "a map", "nothing".
  static std::string describe(const YAML::Node& node);
  // The 1-based line of `node`, or `fallback` when yaml-cpp has no mark for it.
  static int line_of(const YAML::Node& node, int fallback);

  // "a, b, c", or "none" when there are no words.
  template <class Words>
  static std::string joined(const Words& words) {
    std::string out;
    for (std::string_view w : words) out += fmt::format("{}{}", out.empty() ? "" : ", ", w);
    return out.empty() ? "none" : out;
  }

  // ---- errors ----

  template <class... Args>
  std::unexpected<Error> error(int line, fmt::format_string<Args...> f, Args&&... args) const {
    return fail("{}:{}: {}", file_, line, fmt::format(f, std::forward<Args>(args)...));
  }
  std::unexpected<Error> want(const Value& v, std::string_view what) const;

  // An error from another module's check, placed at the value it is about.
  template <class T>
  Status at(const Value& v, const Result<T>& checked) const {
    if (checked) return {};
    return error(v.line, "{}: {}", v.path, checked.error().message());
  }

  // The file's one YAML document (Null when it holds none). More documents with content are an
  // error naming the line of the second. yaml-cpp's LoadAll is not used: on some malformed input
  // (found by fuzzing) it loops forever without consuming anything. Throws YAML::Exception on
  // malformed input, as yaml-cpp does.
  [[nodiscard]] Result<YAML::Node> single_document(std::string_view text) const;

  // ---- readers for one YAML shape each ----

  // A map's entries in file order; an empty value is an empty map. Empty `allowed`: any key.
  [[nodiscard]] Result<std::vector<Entry>> entries(const Value& v, Keys allowed) const;
  // A list's items; an empty value is an empty list.
  [[nodiscard]] Result<std::vector<Value>> items(const Value& v) const;
  [[nodiscard]] Result<std::string> string(const Value& v) const;
  [[nodiscard]] Result<std::string> nonempty_string(const Value& v) const;
  [[nodiscard]] Result<std::vector<std::string>> string_list(const Value& v) const;
  [[nodiscard]] Result<int> port(const Value& v) const;
  [[nodiscard]] Result<double> seconds(const Value& v) const;
  [[nodiscard]] Result<int> positive_integer(const Value& v) const;
  [[nodiscard]] Result<bool> boolean(const Value& v) const;
  // Environment variables and build args: any scalar value is taken as its text, so `PORT: 80`
  // and `DEBUG: true` work unquoted; an empty value is the empty string.
  [[nodiscard]] Result<std::map<std::string, std::string>> string_map(const Value& v) const;

 private:
  std::string file_;
};

}  // namespace slipway::pipeline
