#include <algorithm>

#include "ir/passes.h"
#include "ir/rewrite.h"

namespace kiln::ir {

Graph eliminate_common_subexpressions(const Graph& g) {
  return rewrite(
      g, [](Builder& b, const Node& n, const std::vector<NodeId>& in) -> std::optional<NodeId> {
        if (!n.def().commutative)
          return std::nullopt;
        std::vector<NodeId> sorted = in;
        std::sort(sorted.begin(), sorted.end());
        return b.make(n.op, sorted, n.attrs);
      });
}

} // namespace kiln::ir
