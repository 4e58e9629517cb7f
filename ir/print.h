#pragma once
// Textual IR: a readable listing that also parses back (used for dumps and for Before/Expected
// pass tests), and Graphviz export.
//
//   graph {
//     %0 = input {name="y"} : f32[N,2]
//     %1 = param {name="K"} : f32[14,2]
//     %2 = matmul(%0, %1) {ta=0, tb=1} : f32[N,14]
//     output u = %2
//   }

#include <string>
#include <string_view>

#include "ir/node.h"

namespace kiln::ir {

/** The listing of `g`, one node per line, then its outputs. */
std::string to_text(const Graph& g);
/** One node as it appears in the listing ("%2 = matmul(%0, %1) {ta=0, tb=1} : f32[N,14]"). */
std::string node_text(const Graph& g, NodeId id);
/** Graphviz source: one box per node (op, attributes, type), edges from operands. */
std::string to_dot(const Graph& g, std::string_view title = "kiln");

/**
 * Parses a listing written by to_text (ids may be any %name and need not be dense). Every node
 * goes through the Builder, so types are checked. Throws kiln::Error "[parse] line L: ..." on
 * malformed text.
 */
Graph parse_graph(std::string_view text);

} // namespace kiln::ir
