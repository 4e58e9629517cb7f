#pragma once
// A training problem, built in one place: what to minimize (weighted loss terms over the
// network's outputs, a regularizer), what to report (metrics), what to predict, and how to
// update (an optimizer). From it come every graph that training needs: the step (forward, loss,
// backward and update), the evaluation and the prediction graph, and the fused epoch's spec.
// The Trainer compiles them and the ahead-of-time generator renders them, so both run the same
// kernels.
//
//   train::Problem p = train::supervised(net, /*features=*/1, /*targets=*/1, Loss::mse(),
//                                        std::make_shared<optim::Adam>(1e-3));
//   train::ProblemGraphs g = train::build(p);   // g.step.graph, g.eval, g.predict, g.epoch
//
// Several inputs with their own row counts (a PDE's interior and boundary points, each an Input
// of its own) and several weighted terms fit the same shape:
//
//   p.terms = {{"residual", mean(square(u_xx - f))}, {"boundary", mean(square(u_b)), 10.0}};

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codegen/schedule.h"
#include "frontend/lower.h"
#include "frontend/nn.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/step.h"

namespace kiln::train {

/** One weighted term of the loss: the loss is the sum of weight * value over the terms. */
struct LossTerm {
  std::string name;
  /** A scalar expression. */
  Expr value;
  double weight = 1.0;
};

/** Everything a training run minimizes, reports and predicts. */
struct Problem {
  /** The loss terms (at least one). With several, each is also an output "loss:<name>". */
  std::vector<LossTerm> terms;
  /** Adds weight_decay / 2 * sum ||theta||^2 over these params to the loss (FitOptions's L2). */
  std::vector<Param<>> regularized;
  double weight_decay = 0.0;
  /** Scalar outputs reported beside the loss (e.g. {"acc", accuracy(F, c)}); not trained. */
  Outputs metrics;
  /** The outputs of the prediction graph (e.g. {"F", net(y)}). */
  Outputs predictions;
  /** The update rule of the step; nullptr: no step graph (evaluation and prediction only). */
  std::shared_ptr<optim::Optimizer> optimizer;
  /**
   * Parameters that come first, in this order (e.g. the network's, PyTorch's order); the others
   * follow in the order the loss first uses them.
   */
  std::vector<std::string> param_order;
  /** Inputs the fused epoch feeds from a resident data set, one row per sample (e.g. "y",
      "c"); empty: no fused epoch. */
  std::vector<std::string> epoch_data;
  /** The float type of every graph. */
  ir::DType dtype = ir::DType::F32;
  /** Build the step as two graphs, gradients then update (ProblemGraphs::split), for
      data-parallel training, instead of one. */
  bool split_step = false;
};

/** The graphs of a problem, not yet optimized (Executable::compile and aot run ir::optimize). */
struct ProblemGraphs {
  /** The trained parameters, in order, with their initializers. */
  std::vector<ParamSpec> params;
  /** Outputs "loss", "loss:<term>" (several terms), then the metrics. */
  ir::Graph eval;
  /** The problem's predictions. */
  ir::Graph predict;
  /** The eval graph lowered for training (dropout draws masks) plus gradients and updates
      (when the problem has an optimizer and does not ask for a split step). */
  std::optional<StepGraph> step;
  /** The same step as gradients, then update (when the problem asks for a split step). */
  std::optional<SplitStep> split;
  /** The fused epoch over Problem::epoch_data, averaging the loss and the metrics. */
  std::optional<codegen::EpochSpec> epoch;

  /** Names of params, in order. */
  std::vector<std::string> param_names() const;
};

/**
 * Lowers and differentiates the problem. Throws kiln::Error for a problem without terms or with
 * a term that is not a scalar, kiln::ShapeError when lowering fails.
 */
ProblemGraphs build(const Problem& problem);

/**
 * The course's supervised problem: the network maps inputs "y" [N, features] to outputs that
 * `loss` compares with targets "c" ([N, targets] floats, or labels of `targets` classes for a
 * classification loss, which also reports the metric "acc"); the L2 regularizer covers the
 * network's parameters; predictions are "F"; the fused epoch feeds "y" and "c".
 */
Problem supervised(const nn::Layer& net, int64_t features, int64_t targets, const Loss& loss,
                   std::shared_ptr<optim::Optimizer> optimizer, double weight_decay = 0.0);

} // namespace kiln::train
