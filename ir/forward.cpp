#include "ir/forward.h"

#include <optional>
#include <vector>

#include "base/error.h"

namespace kiln::ir {

NodeId append_jvp(Builder& b, NodeId output, std::span<const NodeId> wrt,
                  std::span<const NodeId> directions) {
  KILN_ASSERT(wrt.size() == directions.size(), "one direction per node to differentiate by");
  const size_t n = output + 1;
  std::vector<NodeId> tangent(n, kNoGrad);
  for (size_t i = 0; i < wrt.size(); ++i) {
    if (b.type(directions[i]) != b.type(wrt[i]))
      throw ShapeError(str("[jvp] the direction ", b.type(directions[i]),
                           " does not have the type ", b.type(wrt[i]), " of what it moves"));
    if (wrt[i] < n && is_float(b.type(wrt[i]).dtype))
      tangent[wrt[i]] = directions[i];
  }
  // Only nodes on a path to the output need a tangent.
  std::vector<bool> to_output(n, false);
  to_output[output] = true;
  for (size_t i = n; i-- > 0;)
    if (to_output[i])
      for (NodeId in : b.node(static_cast<NodeId>(i)).inputs)
        to_output[in] = true;

  for (NodeId id = 0; id < n; ++id) {
    if (!to_output[id] || tangent[id] != kNoGrad)
      continue;
    const std::vector<NodeId> inputs = b.node(id).inputs; // copy: b grows below
    std::vector<NodeId> in_tangents;
    bool any = false;
    for (NodeId in : inputs) {
      in_tangents.push_back(tangent[in]);
      any = any || tangent[in] != kNoGrad;
    }
    const OpDef& def = b.node(id).def();
    if (!any || !def.differentiable || !is_float(b.type(id).dtype))
      continue;
    JvpCtx ctx{b, id, in_tangents};
    const NodeId t = def.jvp(ctx);
    KILN_ASSERT(t == kNoGrad || b.type(t) == b.type(id), "jvp of ", def.name, " gave ",
                t == kNoGrad ? Type{} : b.type(t), " for ", b.type(id));
    tangent[id] = t;
  }
  return tangent[output] != kNoGrad ? tangent[output] : b.constant(0.0, b.type(output));
}

} // namespace kiln::ir
