#pragma once
// The one loop every pass shares: rebuild a graph node by node through a fresh Builder,
// letting a rule replace nodes. Hash-consing in the Builder merges what the rule makes equal.

#include <functional>
#include <optional>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/**
 * A rewrite rule sees the old node and its operands' new ids, and returns the new id that
 * replaces the node, or nullopt to copy the node unchanged. A replacement must have the
 * node's type.
 */
using RewriteRule =
    std::function<std::optional<NodeId>(Builder& b, const Node& n, const std::vector<NodeId>& in)>;

/**
 * Rebuilds `g` applying `rule` to each node in topological order; outputs follow their nodes.
 * When `keep` is given, nodes with keep[i] == false are dropped (nothing may use them).
 */
Graph rewrite(const Graph& g, const RewriteRule& rule, const std::vector<bool>* keep = nullptr);

/** Copies node `n` with new operands into `b`. */
NodeId copy_node(Builder& b, const Node& n, const std::vector<NodeId>& in);

} // namespace kiln::ir
