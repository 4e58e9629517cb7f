#pragma once
// The compiler's table of contents: every graph pass, one per file in ir/passes/. Each is a
// pure function from a verified graph to a verified graph with the same outputs (same names,
// same values); run in order by optimize() (ir/pipeline.cpp).

#include "ir/node.h"

namespace kiln::ir {

/**
 * Checks the graph's invariants: operands precede their users, every node's type is what its
 * op's rule gives for its operands, leaves are well formed, outputs exist, and no two nodes
 * are identical. Throws kiln::InternalError naming the node. Pure; returns nothing.
 */
void verify(const Graph& g);

/**
 * Evaluates ops whose operands are all constants (constants are splats, so the result is one
 * number): elementwise math, broadcasts, reshapes, transposes, slices, and reductions whose
 * element count is static. The value is rounded to the node's dtype.
 */
Graph fold_constants(const Graph& g);

/**
 * Algebraic identities: x+0, x-0, x*1, x/1 -> x; x*0 -> 0 (values are assumed finite);
 * x*(-1), 0-x -> -x; --x -> x; x+(-y) -> x-y; x-(-y) -> x+y; x*x -> square(x);
 * select(c, x, x) -> x; nested reshapes, broadcasts and transposes collapse; an elementwise op
 * over operands broadcast from one shape runs at that shape and broadcasts once; so does a
 * product whose left factor is one row broadcast, broadcast(r) B -> broadcast(r B), and
 * A^T broadcast(r) -> (column sums of A)^T r.
 */
Graph simplify(const Graph& g);

/**
 * Merges nodes that compute the same value: operands of commutative ops are put in a
 * canonical order, then hash-consing merges structurally equal nodes.
 */
Graph eliminate_common_subexpressions(const Graph& g);

/** Drops nodes no output depends on. Inputs and params stay: they are the graph's signature. */
Graph eliminate_dead_nodes(const Graph& g);

/**
 * The standard pipeline: verify, then fold constants, simplify, eliminate common
 * subexpressions and dead nodes until nothing changes. KILN_DEBUG=1 logs each pass's time and
 * node count to stderr; KILN_DEBUG=2 also prints the IR after each pass that changed it.
 */
Graph optimize(const Graph& g);

} // namespace kiln::ir
