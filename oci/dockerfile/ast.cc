#include "oci/dockerfile/ast.h"

#include "oci/dockerfile/text.h"

namespace slipway::oci {

std::string dump_node(const Node& node) {
  std::string out = node.keyword;
  if (!node.flags.empty()) {
    out += " [";
    for (std::size_t i = 0; i < node.flags.size(); ++i) {
      if (i > 0) out += ' ';
      out += go_quote(node.flags[i]);
    }
    out += ']';
  }
  for (const Node& inner : node.nested) out += " (" + dump_node(inner) + ")";
  for (const std::string& arg : node.args) out += " " + go_quote(arg);
  return out;
}

std::string dump_ast(const Ast& ast) {
  std::string out;
  for (const Node& node : ast.nodes) out += "(" + dump_node(node) + ")\n";
  return out;
}

}  // namespace slipway::oci
