#pragma once
// Reverse-mode symbolic differentiation. The result is ordinary IR built from each op's
// derivative rule (OpDef::vjp), so it is simplified, fused and compiled like any other graph,
// and it can be differentiated again (second derivatives for physics-informed losses).

#include <span>
#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/**
 * Appends to `b` the gradient of the scalar `output` with respect to each node in `wrt` and
 * returns their ids, in order. A node the output does not depend on gets a zero constant.
 * Throws kiln::ShapeError when `output` is not a scalar float.
 */
std::vector<NodeId> append_gradients(Builder& b, NodeId output, std::span<const NodeId> wrt);

/**
 * The graph `g` plus the gradient of its scalar output `output` with respect to the leaves
 * named in `wrt` (inputs or params). Gradient outputs are named "grad_<leaf>" unless
 * `names` gives other names. Throws kiln::Error naming a leaf that does not exist.
 */
Graph grad(const Graph& g, const std::string& output, const std::vector<std::string>& wrt,
           const std::vector<std::string>& names = {});

} // namespace kiln::ir
