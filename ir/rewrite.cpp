#include "ir/rewrite.h"

#include "base/error.h"

namespace kiln::ir {

NodeId copy_node(Builder& b, const Node& n, const std::vector<NodeId>& in) {
  const bool leaf = n.def().kind == OpKind::Leaf;
  return b.make(n.op, in, n.attrs, leaf ? std::optional<Type>(n.type) : std::nullopt);
}

Graph rewrite(const Graph& g, const RewriteRule& rule, const std::vector<bool>* keep) {
  Builder b;
  std::vector<NodeId> map(g.size(), kNoGrad);
  for (NodeId i = 0; i < g.size(); ++i) {
    if (keep && !(*keep)[i])
      continue;
    const Node& n = g.node(i);
    std::vector<NodeId> in;
    for (NodeId x : n.inputs) {
      KILN_ASSERT(map[x] != kNoGrad, "node %", i, " uses dropped node %", x);
      in.push_back(map[x]);
    }
    const std::optional<NodeId> r = rule ? rule(b, n, in) : std::nullopt;
    map[i] = r ? *r : copy_node(b, n, in);
    KILN_ASSERT(b.type(map[i]) == n.type, "rewrite of %", i, " (", op_name(n.op),
                ") changed its type from ", n.type, " to ", b.type(map[i]));
  }
  for (const Output& o : g.outputs())
    b.set_output(o.name, map[o.id]);
  return b.graph();
}

} // namespace kiln::ir
