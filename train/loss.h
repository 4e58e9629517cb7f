#pragma once
// The losses a training problem compares a network's output with its target by.

#include <functional>
#include <string>

#include "frontend/expr.h"

namespace kiln {

/** A loss between the network's output and the target. */
struct Loss {
  std::string name;
  std::function<Expr(const Expr& prediction, const Expr& target)> fn;
  /** The target is integer class labels (Labels), and accuracy is reported. */
  bool classification = false;

  /** Mean squared error over every element (torch.nn.MSELoss). */
  static Loss mse();
  /** The course's 1/2 ||F - c||^2 per sample, averaged over the batch. */
  static Loss least_squares();
  /** Softmax cross-entropy with integer labels, averaged over the batch. */
  static Loss cross_entropy();
};

} // namespace kiln
