#include "ir/print.h"

#include "base/error.h"

namespace kiln::ir {

std::string node_text(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  std::string s = "%" + std::to_string(id) + " = " + std::string(op_name(n.op));
  if (!n.inputs.empty()) {
    s += "(";
    for (size_t i = 0; i < n.inputs.size(); ++i)
      s += (i ? ", %" : "%") + std::to_string(n.inputs[i]);
    s += ")";
  }
  if (!n.attrs.empty())
    s += " " + n.attrs.str();
  return s + " : " + n.type.str();
}

std::string to_text(const Graph& g) {
  std::string s = "graph {\n";
  for (NodeId i = 0; i < g.size(); ++i)
    s += "  " + node_text(g, i) + "\n";
  for (const Output& o : g.outputs())
    s += "  output " + o.name + " = %" + std::to_string(o.id) + "\n";
  return s + "}\n";
}

static std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out;
}

std::string to_dot(const Graph& g, std::string_view title) {
  std::string s = "digraph \"" + dot_escape(title) +
                  "\" {\n  rankdir=TB;\n"
                  "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", "
                  "fillcolor=\"#f2f2f2\"];\n";
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    const char* fill = n.op == Op::Param    ? "#ffe9b3"
                       : n.op == Op::Input  ? "#cfe8ff"
                       : n.op == Op::MatMul ? "#ffd6d6"
                                            : "#f2f2f2";
    s += "  n" + std::to_string(i) + " [label=\"%" + std::to_string(i) + " " +
         std::string(op_name(n.op)) + (n.attrs.empty() ? "" : "\\n" + dot_escape(n.attrs.str())) +
         "\\n" + n.type.str() + "\", fillcolor=\"" + fill + "\"];\n";
    for (NodeId in : n.inputs)
      s += "  n" + std::to_string(in) + " -> n" + std::to_string(i) + ";\n";
  }
  for (const Output& o : g.outputs()) {
    s += "  \"out_" + dot_escape(o.name) + "\" [label=\"" + dot_escape(o.name) +
         "\", shape=ellipse, fillcolor=\"#d9f2d9\"];\n";
    s += "  n" + std::to_string(o.id) + " -> \"out_" + dot_escape(o.name) + "\";\n";
  }
  return s + "}\n";
}

} // namespace kiln::ir
