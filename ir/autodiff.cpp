#include "ir/autodiff.h"

#include <optional>

#include "base/error.h"
#include "ir/val.h"

namespace kiln::ir {

std::vector<NodeId> append_gradients(Builder& b, NodeId output, std::span<const NodeId> wrt) {
  const Type out_type = b.type(output);
  if (!out_type.shape.is_scalar() || !is_float(out_type.dtype))
    throw ShapeError(str("[grad] the output must be a float scalar, got ", out_type,
                         "; reduce it first (sum or mean)"));

  // Only nodes on a path from some wrt node to the output carry a useful adjoint.
  const size_t n = output + 1;
  std::vector<bool> from_wrt(n, false), to_output(n, false);
  for (NodeId w : wrt)
    if (w < n)
      from_wrt[w] = true;
  for (NodeId i = 0; i < n; ++i)
    for (NodeId in : b.node(i).inputs)
      from_wrt[i] = from_wrt[i] || from_wrt[in];
  to_output[output] = true;
  for (size_t i = n; i-- > 0;)
    if (to_output[i])
      for (NodeId in : b.node(static_cast<NodeId>(i)).inputs)
        to_output[in] = true;

  std::vector<std::optional<NodeId>> adjoint(n);
  adjoint[output] = b.constant(1.0, out_type);
  for (size_t i = n; i-- > 0;) {
    const auto id = static_cast<NodeId>(i);
    if (!adjoint[i] || !from_wrt[i] || !to_output[i])
      continue;
    const OpDef& def = b.node(id).def();
    if (!def.differentiable)
      continue;
    VjpCtx ctx{b, id, *adjoint[i]};
    const std::vector<NodeId> grads = def.vjp(ctx);
    const std::vector<NodeId> inputs = b.node(id).inputs; // copy: b grows below
    KILN_ASSERT(grads.size() == inputs.size(), "vjp of ", def.name, " returned ", grads.size(),
                " gradients for ", inputs.size(), " operands");
    for (size_t k = 0; k < inputs.size(); ++k) {
      const NodeId in = inputs[k];
      if (grads[k] == kNoGrad || !from_wrt[in] || !is_float(b.type(in).dtype))
        continue;
      KILN_ASSERT(b.type(grads[k]) == b.type(in), "vjp of ", def.name, " gave ", b.type(grads[k]),
                  " for operand ", k, " of type ", b.type(in));
      adjoint[in] = adjoint[in] ? (Val(b, *adjoint[in]) + Val(b, grads[k])).id() : grads[k];
    }
  }

  std::vector<NodeId> out;
  for (NodeId w : wrt)
    out.push_back(w < n && adjoint[w] ? *adjoint[w] : b.constant(0.0, b.type(w)));
  return out;
}

Graph grad(const Graph& g, const std::string& output, const std::vector<std::string>& wrt,
           const std::vector<std::string>& names) {
  KILN_ASSERT(names.empty() || names.size() == wrt.size(), "one name per gradient");
  std::vector<NodeId> leaves;
  for (const std::string& w : wrt) {
    auto id = g.find_leaf(Op::Param, w);
    if (!id)
      id = g.find_leaf(Op::Input, w);
    if (!id)
      throw Error(str("[grad] the graph has no input or param named '", w, "'"));
    leaves.push_back(*id);
  }
  Builder b(g);
  const std::vector<NodeId> grads = append_gradients(b, g.output(output), leaves);
  for (size_t i = 0; i < grads.size(); ++i)
    b.set_output(names.empty() ? "grad_" + wrt[i] : names[i], grads[i]);
  return b.graph();
}

} // namespace kiln::ir
