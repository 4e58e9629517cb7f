#pragma once
// The reference interpreter: evaluates any graph on host tensors. It is slow and simple on
// purpose; it is the oracle that every test of codegen and the runtime compares against.

#include <map>
#include <string>
#include <vector>

#include "ir/node.h"
#include "ir/tensor.h"

namespace kiln::ir {

/** How the interpreter rounds. */
enum class Precision {
  /** Every value in double, whatever the node's dtype (the exact oracle). */
  F64,
  /** Values rounded to the node's dtype after every op (what f32 hardware computes, in order). */
  Native,
};

/** Values for the graph's inputs and params, by name. */
using Bindings = std::map<std::string, Tensor, std::less<>>;

/**
 * Evaluates the graph's outputs in order. Every input and param the outputs depend on must be
 * bound, with the declared static dims; dims declared N take the batch size, which must agree
 * across all bound leaves. Throws kiln::Error naming the leaf on a missing or misshaped value.
 */
std::vector<Tensor> interpret(const Graph& g, const Bindings& leaves,
                              Precision precision = Precision::F64);

/** Evaluates one node (and what it depends on). */
Tensor interpret_node(const Graph& g, NodeId id, const Bindings& leaves,
                      Precision precision = Precision::F64);

} // namespace kiln::ir
