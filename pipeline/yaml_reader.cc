#include "pipeline/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

namespace slipway::pipeline {
namespace {

// Walks a stream's documents without building nodes: how many there are, and the line where the
// first one after the first has content (anything but a lone null).
class DocumentCounter : public YAML::EventHandler {
 public:
  int documents = 0;
  int later_content_line = 0;  // 1-based; 0: none

  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { content(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override {
    content(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    content(m);
  }
  void OnMapEnd() override {}

 private:
  void content(const YAML::Mark& m) {
    if (documents > 1 && later_content_line == 0) later_content_line = m.line + 1;
  }
};

// More documents than any file needs: past it the stream is malformed (or endless).
constexpr int kMaxDocuments = 64;

constexpr size_t kMaxShownLength = 40;

}  // namespace

std::string YamlReader::printable(std::string_view text, bool ascii) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool escape = u < 0x20 || u == 0x7f || (ascii && u > 0x7f);
    out += escape ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return out;
}

std::string YamlReader::shown(std::string_view text) {
  std::string cut = printable(text.substr(0, kMaxShownLength), false);
  return fmt::format("\"{}{}\"", cut, text.size() > kMaxShownLength ? "..." : "");
}

std::string YamlReader::describe(const YAML::Node& node) {
  if (node.IsScalar()) return shown(node.Scalar());
  return node.IsSequence() ? "a list" : node.IsMap() ? "a map" : "nothing";
}

// yaml-cpp marks are 0-based.
int YamlReader::line_of(const YAML::Node& node, int fallback) {
  YAML::Mark mark = node.Mark();
  return mark.is_null() || mark.line < 0 ? fallback : mark.line + 1;
}

std::unexpected<Error> YamlReader::want(const Value& v, std::string_view what) const {
  return error(v.line, "{}: want {}, got {}", v.path, what, describe(v.node));
}

Result<YAML::Node> YamlReader::single_document(std::string_view text) const {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentCounter counter;
  int handled = 0;
  while (handled < kMaxDocuments && parser.HandleNextDocument(counter)) ++handled;
  if (handled >= kMaxDocuments)
    return error(1, "a pipeline file holds one YAML document, not {} or more", kMaxDocuments);
  if (counter.later_content_line)
    return error(counter.later_content_line, "a pipeline file holds one YAML document, not {}",
                 counter.documents);
  return YAML::Load(std::string(text));
}

Result<std::vector<YamlReader::Entry>> YamlReader::entries(const Value& v, Keys allowed) const {
  std::vector<Entry> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsMap()) return want(v, "a map");
  std::string where = v.path.empty() ? "at the top level" : "in " + v.path;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    int key_line = line_of(it->first, v.line);
    if (!it->first.IsScalar())
      return error(key_line, "want a string key {}, got {}", where, describe(it->first));
    std::string key = it->first.Scalar();
    if (allowed.size() != 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return error(key_line, "unknown key {} {} (known: {})", shown(key), where, joined(allowed));
    for (const Entry& e : out)
      if (e.key == key)
        return error(key_line, "duplicate key {} {} (first at line {})", shown(key), where,
                     e.key_line);
    std::string path = v.path.empty() ? key : v.path + "." + key;
    // An empty value's mark is where the next token starts: its key's line is the better one.
    int line = it->second.IsNull() ? key_line : line_of(it->second, key_line);
    out.push_back({key, key_line, Value{it->second, path, line}});
  }
  return out;
}

Result<std::vector<YamlReader::Value>> YamlReader::items(const Value& v) const {
  std::vector<Value> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsSequence()) return want(v, "a list");
  size_t i = 0;
  for (auto it = v.node.begin(); it != v.node.end(); ++it, ++i)
    out.push_back({*it, fmt::format("{}[{}]", v.path, i), line_of(*it, v.line)});
  return out;
}

Result<std::string> YamlReader::string(const Value& v) const {
  if (!v.node.IsScalar()) return want(v, "a string");
  return v.node.Scalar();
}

Result<std::string> YamlReader::nonempty_string(const Value& v) const {
  std::string s = SLW_TRY(string(v));
  if (s.empty()) return error(v.line, "{} must not be empty", v.path);
  return s;
}

Result<std::vector<std::string>> YamlReader::string_list(const Value& v) const {
  std::vector<std::string> out;
  for (const Value& item : SLW_TRY(items(v))) out.push_back(SLW_TRY(string(item)));
  return out;
}

Result<int> YamlReader::port(const Value& v) const {
  if (v.node.IsScalar()) {
    const std::string& s = v.node.Scalar();
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size() && n >= 1 && n <= 65535) return n;
  }
  return want(v, "an integer 1-65535");
}

Result<int> YamlReader::positive_integer(const Value& v) const {
  if (v.node.IsScalar()) {
    const std::string& s = v.node.Scalar();
    int n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size() && n >= 1) return n;
  }
  return want(v, "a whole number >= 1");
}

Result<double> YamlReader::seconds(const Value& v) const {
  if (v.node.IsScalar()) {
    const std::string& s = v.node.Scalar();
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(d) && d > 0) return d;
  }
  return want(v, "a number of seconds > 0");
}

Result<bool> YamlReader::boolean(const Value& v) const {
  bool b = false;
  if (v.node.IsScalar() && YAML::convert<bool>::decode(v.node, b)) return b;
  return want(v, "true or false");
}

Result<std::map<std::string, std::string>> YamlReader::string_map(const Value& v) const {
  std::map<std::string, std::string> out;
  for (const Entry& e : SLW_TRY(entries(v, {}))) {
    if (e.key.empty() || e.key.find_first_of(std::string_view("=\0", 2)) != std::string::npos)
      return error(e.key_line, "{}: invalid variable name {}", v.path, shown(e.key));
    if (e.value.node.IsNull()) {
      out[e.key] = "";
    } else if (e.value.node.IsScalar()) {
      if (e.value.node.Scalar().find('\0') != std::string::npos)
        return error(e.value.line, "{}: a value must not hold a NUL byte", e.value.path);
      out[e.key] = e.value.node.Scalar();
    } else {
      return want(e.value, "a string, number or boolean");
    }
  }
  return out;
}

}  // namespace slipway::pipeline
