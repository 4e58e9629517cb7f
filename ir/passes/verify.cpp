#include <unordered_map>

#include "base/error.h"
#include "ir/passes.h"
#include "ir/print.h"

namespace kiln::ir {

void verify(const Graph& g) {
  std::unordered_multimap<uint64_t, NodeId> seen;
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    const OpDef& def = n.def();
    auto fail = [&](const std::string& what) {
      throw InternalError(str("[verify] ", what, " at ", node_text(g, i)));
    };
    for (NodeId in : n.inputs)
      if (in >= i)
        fail(str("operand %", in, " does not precede its user"));
    if (def.arity >= 0 && static_cast<int>(n.inputs.size()) != def.arity)
      fail(str("wrong operand count ", n.inputs.size()));
    if (def.kind == OpKind::Leaf) {
      if (n.op == Op::Constant ? !n.attrs.has("value") : !n.attrs.has("name"))
        fail("leaf without its attribute");
    } else {
      std::vector<Type> in;
      for (NodeId x : n.inputs)
        in.push_back(g.node(x).type);
      Type t;
      try {
        t = def.infer(InferCtx{def.name, in, n.attrs});
      } catch (const ShapeError& e) {
        fail(e.what());
      }
      if (t != n.type)
        fail(str("recorded type ", n.type, " differs from inferred ", t));
    }
    const uint64_t h = node_hash(n);
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi; ++it)
      if (g.node(it->second) == n)
        fail(str("duplicate of %", it->second));
    seen.emplace(h, i);
  }
  for (const Output& o : g.outputs())
    if (o.id >= g.size())
      throw InternalError(str("[verify] output ", o.name, " points at a missing node"));
}

} // namespace kiln::ir
