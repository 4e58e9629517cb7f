#pragma once
// The graph IR.
//
// IR semantics:
// - A Graph is a DAG of Nodes in topological order: a node's operands have smaller ids.
// - Nodes are immutable and hash-consed: a Builder never creates two nodes with the same op,
//   operands, attributes and type. Passes build new graphs; they never edit one.
// - Values are dense row-major tensors. One dim may be the dynamic batch size N; all others
//   are static. Elementwise ops take operands of one shape; broadcasting is explicit
//   (`broadcast`), inserted by the helpers in ir/val.h.
// - Comparisons return 0 or 1 in their operands' dtype; `select` picks where its condition is
//   not 0. Integer dtypes hold labels and indices.
// - Floating-point: evaluation order is the graph's; algebraic simplification assumes finite
//   values (x * 0 folds to 0). Generated kernels may contract a*b+c into an FMA.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/attrs.h"
#include "ir/op.h"
#include "ir/shape.h"

namespace kiln::ir {

/** One value of the graph: an op applied to operands. */
struct Node {
  Op op;
  Type type;
  std::vector<NodeId> inputs;
  Attrs attrs;

  const OpDef& def() const { return op_def(op); }
  /** The leaf name of an input or param. */
  const std::string& name() const { return attrs.s("name"); }
  bool operator==(const Node&) const = default;
};

/** A named result of a graph. */
struct Output {
  std::string name;
  NodeId id;
  bool operator==(const Output&) const = default;
};

/** An immutable, verified DAG of nodes in topological order plus its named outputs. */
class Graph {
public:
  Graph() = default;

  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(NodeId id) const { return nodes_[id]; }
  size_t size() const { return nodes_.size(); }
  const std::vector<Output>& outputs() const { return outputs_; }
  /** The output named `name`; throws kiln::Error listing the outputs when there is none. */
  NodeId output(std::string_view name) const;
  /** Ids of the leaves of kind `op` (Input or Param), in id order. */
  std::vector<NodeId> leaves(Op op) const;
  /** The Input or Param named `name`, if any. */
  std::optional<NodeId> find_leaf(Op op, std::string_view name) const;

  bool operator==(const Graph&) const = default;

private:
  friend class Builder;
  std::vector<Node> nodes_;
  std::vector<Output> outputs_;
};

/**
 * The only way to create nodes. make() runs the op's shape/dtype rule, checks the operands,
 * and returns the existing node when an identical one is already there (hash-consing).
 */
class Builder {
public:
  Builder() = default;
  /** Continues from `g`: same nodes, same ids, same outputs. */
  explicit Builder(const Graph& g);

  /**
   * Creates (or finds) the node op(inputs){attrs}. Leaves (input, param, constant) take their
   * type from `declared`; for every other op `declared`, when given, must equal the inferred
   * type. Throws kiln::ShapeError naming the op and the operand types on bad operands.
   */
  NodeId make(Op op, std::vector<NodeId> inputs, Attrs attrs = {},
              std::optional<Type> declared = std::nullopt);

  NodeId input(const std::string& name, Type type);
  NodeId param(const std::string& name, Type type);
  NodeId constant(double value, Type type);

  const Node& node(NodeId id) const { return graph_.nodes_[id]; }
  const Type& type(NodeId id) const { return graph_.nodes_[id].type; }
  size_t size() const { return graph_.nodes_.size(); }

  /** Adds the output `name`, or points an existing output of that name at `id`. */
  void set_output(const std::string& name, NodeId id);
  void clear_outputs() { graph_.outputs_.clear(); }
  const std::vector<Output>& outputs() const { return graph_.outputs_; }

  /** The graph built so far (a copy; the builder stays usable). */
  Graph graph() const { return graph_; }

private:
  NodeId intern(Node n);
  Graph graph_;
  std::unordered_multimap<uint64_t, NodeId> index_;
};

/** Structural hash of a node (op, operand ids, attributes, type). */
uint64_t node_hash(const Node& n);

} // namespace kiln::ir
