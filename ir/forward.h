#pragma once
// Forward-mode symbolic differentiation: directional derivatives pushed from inputs to an output
// through each op's OpDef::jvp. The result is ordinary IR, fused into the same loop nests as the
// values it derives from; applied twice it gives second derivatives (u_xx of a physics-informed
// loss) with no backward pass, and reverse mode (ir/autodiff.h) differentiates it again with
// respect to the weights.

#include <span>

#include "ir/node.h"

namespace kiln::ir {

/**
 * Appends to `b` the derivative of `output` at the point the graph computes, in the direction
 * that moves each node wrt[i] by directions[i] (same type as wrt[i]): d output = sum_i J_i
 * directions[i]. Returns its id, a zero constant when the output does not depend on `wrt`.
 * Throws kiln::ShapeError when a direction's type differs from its node's.
 */
NodeId append_jvp(Builder& b, NodeId output, std::span<const NodeId> wrt,
                  std::span<const NodeId> directions);

} // namespace kiln::ir
