#pragma once
// The training step as one graph: forward, loss, backward and the optimizer's update, so that
// codegen fuses all of it into one kernel. For data-parallel training the same step comes as two
// graphs split at the one point where ranks must talk: the gradients, then the update that
// reads their sum over the ranks.

#include <string>
#include <vector>

#include "codegen/schedule.h"
#include "ir/node.h"
#include "train/optim.h"

namespace kiln {

/** A step graph and how its outputs feed back into its params. */
struct StepGraph {
  ir::Graph graph;
  /** "new:<leaf>" replaces <leaf> after every step: trained params, optimizer state, "step". */
  std::vector<codegen::Update> updates;
  /** Optimizer state params ("<param>.<state>") and their starting values, plus "step". */
  std::vector<std::pair<std::string, double>> state;
};

/**
 * Extends `net` (which has a scalar output `loss`) with the gradient of the loss with respect to
 * `params` and the optimizer's update of each. New leaves: the input "lr" (a scalar, the
 * learning rate of this step) and the params "step" (steps taken so far) and
 * "<param>.<state>" for the optimizer's state. The graph is not optimized: Executable::compile
 * runs the IR pipeline (once).
 */
StepGraph build_step(const ir::Graph& net, const optim::Optimizer& optimizer,
                     const std::vector<std::string>& params, const std::string& loss = "loss");

/** The step of build_step as two graphs, for data-parallel training. */
struct SplitStep {
  /** `net` plus the outputs "grad:<param>" (each shaped as its param). */
  ir::Graph gradients;
  /**
   * The update alone: inputs "grad:<param>" and "lr", params the trained params, their optimizer
   * state and "step"; its updates and state are those of build_step, so running `gradients`
   * then `update` on the same gradients is one step.
   */
  StepGraph update;
};

/** Builds the two graphs of a split step (same arguments and leaves as build_step). */
SplitStep build_split_step(const ir::Graph& net, const optim::Optimizer& optimizer,
                           const std::vector<std::string>& params,
                           const std::string& loss = "loss");

} // namespace kiln
