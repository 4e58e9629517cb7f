#include "ir/passes.h"
#include "ir/rewrite.h"

namespace kiln::ir {

Graph eliminate_dead_nodes(const Graph& g) {
  std::vector<bool> keep(g.size(), false);
  for (const Output& o : g.outputs())
    keep[o.id] = true;
  for (NodeId i = 0; i < g.size(); ++i)
    if (g.node(i).op == Op::Input || g.node(i).op == Op::Param)
      keep[i] = true;
  for (size_t i = g.size(); i-- > 0;)
    if (keep[i])
      for (NodeId in : g.node(static_cast<NodeId>(i)).inputs)
        keep[in] = true;
  return rewrite(g, nullptr, &keep);
}

} // namespace kiln::ir
