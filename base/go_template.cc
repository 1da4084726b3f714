#include "base/go_template.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace slipway {

using json = nlohmann::json;

// The parse tree. Named (not anonymous) because GoTemplate::Node, declared in the header, holds a
// Pipeline.
namespace go_template_tree {

struct Operand;
using Command = std::vector<Operand>;
using Pipeline = std::vector<Command>;

// One operand of a command: a field path, a literal, a function name, or a parenthesized pipeline
// (with fields after it: `(index .M "k").IPAddress`).
struct Operand {
  enum class Kind { kField, kString, kInteger, kConstant, kFunction, kSub };
  Kind kind = Kind::kField;
  bool from_root = false;            // $ / $.A
  std::vector<std::string> path;     // .A.B -> {"A", "B"}; "." and "$" -> {}
  std::string text;                  // literal or function name
  int64_t integer = 0;
  nlohmann::json constant;           // true, false, nil
  std::shared_ptr<Pipeline> sub;     // kSub
  std::string spelling;              // as written, for errors
};

}  // namespace go_template_tree

using go_template_tree::Command;
using go_template_tree::Operand;
using go_template_tree::Pipeline;

struct GoTemplate::Node {
  enum class Kind { kList, kText, kAction, kIf, kRange };
  Kind kind = Kind::kList;
  std::string text;
  Pipeline pipeline;
  std::vector<Node> body, else_body;  // kList: the nodes; kIf/kRange: the branches
};

namespace {

using Node = GoTemplate::Node;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The tokens of one action's text: fields, literals, identifiers and '|'.
Result<std::vector<std::string>> tokenize(std::string_view action) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < action.size()) {
    char c = action[i];
    if (is_space(c)) {
      ++i;
    } else if (c == '|' || c == '(') {
      tokens.emplace_back(1, c);
      ++i;
    } else if (c == ')') {
      // ").A.B": the fields of what the parentheses gave.
      size_t j = i + 1;
      while (j < action.size() && !is_space(action[j]) && action[j] != '|' && action[j] != '(' && action[j] != ')') ++j;
      tokens.emplace_back(action.substr(i, j - i));
      i = j;
    } else if (c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < action.size() && action[j] != c) j += (c == '"' && action[j] == '\\') ? 2 : 1;
      if (j >= action.size()) return fail("template: unterminated string in {{{{{}}}}}", action);
      tokens.emplace_back(action.substr(i, j + 1 - i));
      i = j + 1;
    } else {
      size_t j = i;
      while (j < action.size() && !is_space(action[j]) && action[j] != '|' && action[j] != '(' && action[j] != ')') ++j;
      tokens.emplace_back(action.substr(i, j - i));
      i = j;
    }
  }
  return tokens;
}

Result<std::string> unquote(std::string_view token) {
  if (token.front() == '`') return std::string(token.substr(1, token.size() - 2));
  std::string out;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    if (token[i] != '\\') {
      out += token[i];
      continue;
    }
    char e = token[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      default: return fail("template: unknown escape \\{} in {}", e, token);
    }
  }
  return out;
}

// ".A.B" -> {"A", "B"}; "" -> {}.
Result<std::vector<std::string>> parse_path(std::string_view rest, std::string_view token) {
  std::vector<std::string> path;
  if (rest.empty()) return path;
  if (rest.front() != '.') return fail("template: bad field {}", token);
  rest.remove_prefix(1);
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    std::string name(rest.substr(0, dot));
    if (name.empty()) return fail("template: bad field {}", token);
    path.push_back(name);
    rest = dot == std::string_view::npos ? "" : rest.substr(dot + 1);
  }
  return path;
}

Result<Operand> parse_operand(const std::string& token) {
  Operand op;
  op.spelling = token;
  if (token.front() == '"' || token.front() == '`') {
    op.kind = Operand::Kind::kString;
    op.text = SLW_TRY(unquote(token));
    return op;
  }
  if (std::isdigit(static_cast<unsigned char>(token.front())) || (token.front() == '-' && token.size() > 1)) {
    op.kind = Operand::Kind::kInteger;
    size_t used = 0;
    try {
      op.integer = std::stoll(token, &used);
    } catch (...) {
      used = 0;
    }
    if (used != token.size()) return fail("template: bad number {}", token);
    return op;
  }
  std::string_view rest = token;
  if (rest.front() == '$') {
    op.from_root = true;
    rest.remove_prefix(1);
    if (rest.empty()) return op;
    if (rest.front() != '.') return fail("template: variables other than $ are not supported: {}", token);
  }
  if (rest.front() == '.') {
    if (rest == ".") return op;
    op.path = SLW_TRY(parse_path(rest, token));
    return op;
  }
  if (token == "true" || token == "false" || token == "nil") {
    op.kind = Operand::Kind::kConstant;
    op.constant = token == "nil" ? nlohmann::json(nullptr) : nlohmann::json(token == "true");
    return op;
  }
  op.kind = Operand::Kind::kFunction;
  op.text = token;
  return op;
}

// Commands separated by '|' from tokens[i] to the end, or (nested) to the ')' that closes them.
Result<Pipeline> parse_pipeline(const std::vector<std::string>& tokens, size_t& i, bool nested,
                                std::string_view action) {
  Pipeline pipeline(1);
  for (; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (token == "|") {
      if (pipeline.back().empty()) return fail("template: empty command in {{{{{}}}}}", action);
      pipeline.emplace_back();
    } else if (token.front() == ')') {
      if (!nested) return fail("template: unexpected ) in {{{{{}}}}}", action);
      break;
    } else if (token == "(") {
      Operand op;
      op.kind = Operand::Kind::kSub;
      op.sub = std::make_shared<Pipeline>(SLW_TRY(parse_pipeline(tokens, ++i, true, action)));
      if (i == tokens.size()) return fail("template: missing ) in {{{{{}}}}}", action);
      op.path = SLW_TRY(parse_path(std::string_view(tokens[i]).substr(1), tokens[i]));
      op.spelling = "(...)" + tokens[i].substr(1);
      pipeline.back().push_back(std::move(op));
    } else {
      pipeline.back().push_back(SLW_TRY(parse_operand(token)));
    }
  }
  if (pipeline.back().empty()) return fail("template: missing value in {{{{{}}}}}", action);
  return pipeline;
}

Result<Pipeline> parse_action_pipeline(const std::vector<std::string>& tokens, size_t first,
                                       std::string_view action) {
  size_t i = first;
  return parse_pipeline(tokens, i, false, action);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Node> parse_all() {
    Node root;
    std::string stop = SLW_TRY(parse_list(root.body));
    if (!stop.empty()) return fail("template: unexpected {{{{{}}}}}", stop);
    return root;
  }

 private:
  // Parses nodes into out until the text ends ("") or an {{else}} / {{end}} (returned).
  Result<std::string> parse_list(std::vector<Node>& out) {
    for (;;) {
      size_t open = text_.find("{{", pos_);
      std::string literal(text_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_));
      if (open == std::string_view::npos) {
        add_text(out, std::move(literal));
        pos_ = text_.size();
        return std::string();
      }
      size_t close = text_.find("}}", open + 2);
      if (close == std::string_view::npos) return fail("template: unclosed action at offset {}", open);
      std::string_view inside = text_.substr(open + 2, close - open - 2);
      bool trim_left = inside.starts_with("- ") || inside == "-";
      bool trim_right = inside.ends_with(" -");
      if (trim_left) inside.remove_prefix(1);
      if (trim_right) inside.remove_suffix(1);
      if (trim_left)
        while (!literal.empty() && is_space(literal.back())) literal.pop_back();
      add_text(out, std::move(literal));
      pos_ = close + 2;
      if (trim_right)
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;

      std::vector<std::string> tokens = SLW_TRY(tokenize(inside));
      if (tokens.empty()) return fail("template: empty action {{{{{}}}}}", inside);
      const std::string& keyword = tokens.front();
      if (keyword == "end" || keyword == "else") {
        if (tokens.size() != 1) return fail("template: {{{{{}}}}} takes nothing more", keyword);
        return keyword;
      }
      Node node;
      if (keyword == "if" || keyword == "range") {
        node.kind = keyword == "if" ? Node::Kind::kIf : Node::Kind::kRange;
        if (tokens.size() < 2) return fail("template: {{{{{}}}}} needs a value", keyword);
        node.pipeline = SLW_TRY(parse_action_pipeline(tokens, 1, inside));
        std::string stop = SLW_TRY(parse_list(node.body));
        if (stop == "else") stop = SLW_TRY(parse_list(node.else_body));
        if (stop != "end") return fail("template: {{{{{}}}}} without {{{{end}}}}", keyword);
      } else {
        node.kind = Node::Kind::kAction;
        node.pipeline = SLW_TRY(parse_action_pipeline(tokens, 0, inside));
      }
      out.push_back(std::move(node));
    }
  }

  static void add_text(std::vector<Node>& out, std::string text) {
    if (text.empty()) return;
    Node node;
    node.kind = Node::Kind::kText;
    node.text = std::move(text);
    out.push_back(std::move(node));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool truthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return !v.empty();
}

class Renderer {
 public:
  explicit Renderer(const json& root) : root_(root) {}

  Status render(const std::vector<Node>& nodes, const json& dot, std::string& out) const {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case Node::Kind::kText:
          out += n.text;
          break;
        case Node::Kind::kAction:
          out += go_print(SLW_TRY(eval(n.pipeline, dot)));
          break;
        case Node::Kind::kIf: {
          json v = SLW_TRY(eval(n.pipeline, dot));
          SLW_TRY(render(truthy(v) ? n.body : n.else_body, dot, out));
          break;
        }
        case Node::Kind::kRange: {
          json v = SLW_TRY(eval(n.pipeline, dot));
          if (!v.is_null() && !v.is_array() && !v.is_object())
            return fail("template: range over {}, which is not a list or map", go_print(v));
          if (!truthy(v)) {
            SLW_TRY(render(n.else_body, dot, out));
            break;
          }
          for (const auto& item : v) SLW_TRY(render(n.body, item, out));  // objects: sorted by key
          break;
        }
        case Node::Kind::kList:
          SLW_TRY(render(n.body, dot, out));
          break;
      }
    }
    return {};
  }

 private:
  Result<json> eval(const Pipeline& pipeline, const json& dot) const {
    std::optional<json> piped;
    for (const Command& command : pipeline) piped = SLW_TRY(eval_command(command, dot, std::move(piped)));
    return *piped;
  }

  Result<json> eval_command(const Command& command, const json& dot, std::optional<json> piped) const {
    const Operand& head = command.front();
    if (head.kind != Operand::Kind::kFunction) {
      if (command.size() > 1) return fail("template: {} is not a function", head.spelling);
      if (piped) return fail("template: cannot pipe into {}", head.spelling);
      return value_of(head, dot);
    }
    std::vector<json> args;
    for (size_t i = 1; i < command.size(); ++i) {
      if (command[i].kind == Operand::Kind::kFunction)
        return fail("template: {} needs parentheses, which are not supported", command[i].spelling);
      args.push_back(SLW_TRY(value_of(command[i], dot)));
    }
    if (piped) args.push_back(std::move(*piped));
    return call(head.text, args);
  }

  Result<json> value_of(const Operand& op, const json& dot) const {
    switch (op.kind) {
      case Operand::Kind::kString:
        return json(op.text);
      case Operand::Kind::kInteger:
        return json(op.integer);
      case Operand::Kind::kConstant:
        return op.constant;
      case Operand::Kind::kFunction:
        return fail("template: {} is a function, not a value", op.spelling);
      case Operand::Kind::kField:
      case Operand::Kind::kSub:
        break;
    }
    json computed;
    if (op.kind == Operand::Kind::kSub) computed = SLW_TRY(eval(*op.sub, dot));
    const json* v = op.kind == Operand::Kind::kSub ? &computed : op.from_root ? &root_ : &dot;
    std::string where = op.kind == Operand::Kind::kSub ? "(...)" : op.from_root ? "$" : "";
    for (const auto& name : op.path) {
      if (!v->is_object())
        return fail("template: can't evaluate field {} in {} ({} is not an object)", name, op.spelling,
                    where.empty() ? "." : where);
      auto it = v->find(name);
      if (it == v->end()) return fail("template: can't evaluate field {} in {}: no such field", name, op.spelling);
      v = &*it;
      where += "." + name;
    }
    return *v;
  }

  static Result<json> call(const std::string& name, const std::vector<json>& args) {
    auto need = [&](size_t n) -> Status {
      if (args.size() != n) return fail("template: {} takes {} argument(s), got {}", name, n, args.size());
      return {};
    };
    if (name == "json") {
      SLW_TRY(need(1));
      return json(args[0].dump(-1, ' ', false, json::error_handler_t::replace));
    }
    if (name == "len") {
      SLW_TRY(need(1));
      if (args[0].is_string()) return json(args[0].get_ref<const std::string&>().size());
      if (args[0].is_array() || args[0].is_object()) return json(args[0].size());
      return fail("template: len of {}, which has no length", go_print(args[0]));
    }
    if (name == "lower" || name == "upper") {
      SLW_TRY(need(1));
      std::string s = args[0].is_string() ? args[0].get<std::string>() : go_print(args[0]);
      for (char& c : s) c = static_cast<char>(name == "lower" ? std::tolower(static_cast<unsigned char>(c))
                                                                : std::toupper(static_cast<unsigned char>(c)));
      return json(s);
    }
    if (name == "join") {
      SLW_TRY(need(2));
      if (!args[0].is_array() || !args[1].is_string()) return fail("template: join takes a list and a string");
      std::string out;
      for (size_t i = 0; i < args[0].size(); ++i) out += (i ? args[1].get<std::string>() : "") + go_print(args[0][i]);
      return json(out);
    }
    if (name == "split") {
      SLW_TRY(need(2));
      if (!args[0].is_string() || !args[1].is_string()) return fail("template: split takes two strings");
      std::string s = args[0].get<std::string>(), sep = args[1].get<std::string>();
      json out = json::array();
      if (sep.empty()) return fail("template: split with an empty separator");
      for (size_t at = 0;;) {
        size_t next = s.find(sep, at);
        out.push_back(s.substr(at, next == std::string::npos ? std::string::npos : next - at));
        if (next == std::string::npos) break;
        at = next + sep.size();
      }
      return out;
    }
    if (name == "println") {
      std::string out;
      for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + go_print(args[i]);
      return json(out + "\n");
    }
    if (name == "index") {
      if (args.size() < 2) return fail("template: index takes a value and at least one key");
      json v = args[0];
      for (size_t i = 1; i < args.size(); ++i) {
        const json& key = args[i];
        if (v.is_object() && key.is_string()) {
          auto it = v.find(key.get<std::string>());
          v = it == v.end() ? json(nullptr) : *it;
        } else if (v.is_array() && key.is_number_integer()) {
          int64_t k = key.get<int64_t>();
          if (k < 0 || static_cast<size_t>(k) >= v.size())
            return fail("template: index {} out of range (length {})", k, v.size());
          v = v[static_cast<size_t>(k)];
        } else {
          return fail("template: cannot index {} with {}", go_print(v), go_print(key));
        }
      }
      return v;
    }
    if (name == "not") {
      SLW_TRY(need(1));
      return json(!truthy(args[0]));
    }
    if (name == "and" || name == "or") {
      // Go's: the first argument that decides (empty for and, non-empty for or), else the last.
      if (args.empty()) return fail("template: {} takes at least one argument", name);
      for (const auto& a : args)
        if (truthy(a) == (name == "or")) return a;
      return args.back();
    }
    if (name == "eq") {
      if (args.size() < 2) return fail("template: eq takes at least two arguments");
      for (size_t i = 1; i < args.size(); ++i)
        if (SLW_TRY(compare(name, args[0], args[i])) == 0) return json(true);
      return json(false);
    }
    if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
      SLW_TRY(need(2));
      int c = SLW_TRY(compare(name, args[0], args[1]));
      if (name == "ne") return json(c != 0);
      if (name == "lt") return json(c < 0);
      if (name == "le") return json(c <= 0);
      if (name == "gt") return json(c > 0);
      return json(c >= 0);
    }
    return fail("template: function \"{}\" not defined", name);
  }

  // Go compares basic values of one kind: numbers with numbers, strings with strings, booleans
  // (for eq and ne only).
  static Result<int> compare(const std::string& name, const json& a, const json& b) {
    if (a.is_number() && b.is_number()) {
      double x = a.get<double>(), y = b.get<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {
      int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.is_boolean() && b.is_boolean() && (name == "eq" || name == "ne")) return a == b ? 0 : 1;
    return fail("template: {}: incompatible types for comparison ({} and {})", name, go_print(a), go_print(b));
  }

  const json& root_;
};

}  // namespace

std::string go_print(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "<nil>";
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) out += (i ? " " : "") + go_print(value[i]);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        out += (first ? "" : " ") + k + ":" + go_print(v);
        first = false;
      }
      return out + "]";
    }
    default:
      return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

GoTemplate::GoTemplate(std::unique_ptr<Node> root) : root_(std::move(root)) {}
GoTemplate::GoTemplate(GoTemplate&&) noexcept = default;
GoTemplate& GoTemplate::operator=(GoTemplate&&) noexcept = default;
GoTemplate::~GoTemplate() = default;

Result<GoTemplate> GoTemplate::parse(std::string_view text) {
  Parser parser(text);
  Node root = SLW_TRY(parser.parse_all());
  return GoTemplate(std::make_unique<Node>(std::move(root)));
}

Result<std::string> GoTemplate::render(const json& data) const {
  std::string out;
  SLW_TRY(Renderer(data).render(root_->body, data, out));
  return out;
}

}  // namespace slipway
