#pragma once
// The schedule of a graph: which nodes live in memory, and which loop nests (groups) compute
// them. Every backend renders the same schedule.
//
// A node is either *inline* (recomputed where it is used, as part of a larger expression) or a
// *root* (computed once per element by a group and, if anyone outside that element's loop
// iteration needs it, stored in a buffer). A group is one loop nest over a domain; it starts
// at an accumulator (a matmul or a reduction) or at a pointwise root, and computes further
// pointwise roots of the same domain at the same index in the same iteration. So a matmul
// takes its bias, activation and, in the backward pass, the activation's derivative as its
// epilogue, and an optimizer update fuses into the gradient's matmul.

#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::codegen {

/** How a node is computed. */
enum class Storage : uint8_t {
  Leaf,   // an input or param buffer, or a constant literal
  Inline, // recomputed inside the expressions that use it
  Root,   // computed once per element by a group
};

/** One loop nest. */
struct Group {
  enum class Kind : uint8_t { Pointwise, Reduce, MatMul, Window };
  Kind kind;
  /** The iteration space: the roots' shape. */
  ir::Shape domain;
  /** Roots computed at every index, in topological order; for Reduce, MatMul and Window the
      first is the accumulator that gives the loop its structure. */
  std::vector<ir::NodeId> roots;
};

/** A buffer the generated function reads or writes, in argument order. */
struct Slot {
  enum class Role : uint8_t { Input, Param, Output, Scratch };
  Role role;
  /** Leaf or output name; "t<node>" for scratch. */
  std::string name;
  ir::NodeId node;
  ir::Type type;
  /** A param the kernel overwrites (see Update). */
  bool written = false;
};

/** An output that replaces a param at the end of every call (an optimizer step's new weights). */
struct Update {
  std::string output;
  std::string param;
};

/**
 * A fused epoch: the step run over every mini-batch of a data set resident on the device, in
 * one call into generated code. Every backend renders it from the same spec.
 */
struct EpochSpec {
  /** Inputs fed from the resident data set, one row per sample (e.g. "y", "c"). */
  std::vector<std::string> data;
  /** Scalar outputs averaged over the epoch, weighted by batch size (e.g. "loss", "acc"). */
  std::vector<std::string> metrics;
};

/** The schedule of one graph. */
struct Schedule {
  ir::Graph graph;
  std::vector<Storage> storage;
  std::vector<Group> groups;
  /** Group of every root (-1 for others). */
  std::vector<int> group_of;
  /** True for roots stored to memory (outputs and roots needed outside their iteration). */
  std::vector<bool> stored;
  /** Argument slots: inputs, params, outputs, then scratch buffers (in the workspace). */
  std::vector<Slot> slots;
  /** Slot of every stored root and leaf (-1 for others). An output's node uses its slot. */
  std::vector<int> slot_of;
  /** Extra output slots that copy a node already stored elsewhere (slot, node). */
  std::vector<std::pair<int, ir::NodeId>> output_copies;
  /**
   * Updates the kernel could not write in place (a later read needs the old value): copied
   * from the output slot to the param slot at the very end (from, to).
   */
  std::vector<std::pair<int, int>> copy_back;

  /** Human-readable summary of the groups, for KILN_DEBUG and kernel header comments. */
  std::string describe() const;
};

/**
 * Partitions an optimized graph into groups. Pure. The graph must verify; every output gets
 * its own slot (an output that is a leaf, a constant or a repeated node is copied into it),
 * except an update's output, which is written straight into its param's buffer when nothing
 * reads the param's old value after it is written (else it is copied there at the end).
 * Throws kiln::Error when an update names a missing output or param.
 */
Schedule schedule(const ir::Graph& g, const std::vector<Update>& updates = {});

/**
 * The index of the slot of `role` (Input or Output) named `name`, as an epoch or an evaluation
 * names its data and metrics; throws kiln::Error "[<op>] the <graph> has no input (output)
 * named '<name>'".
 */
size_t slot_named(const Schedule& sc, Slot::Role role, const std::string& name,
                  const char* op = "epoch", const char* graph = "step graph");

/**
 * The slot of metric `name`: a scalar output (slot_named); else kiln::Error "[<op>] metric
 * '<name>' must be a scalar output, got <type>".
 */
size_t metric_slot(const Schedule& sc, const std::string& name, const char* op = "epoch",
                   const char* graph = "step graph");

} // namespace kiln::codegen
