#pragma once
// L-BFGS with a strong-Wolfe line search (Nocedal and Wright, Numerical Optimization, 2nd ed.,
// Algorithms 7.4, 3.5 and 3.6): the full-batch optimizer physics-informed networks are finished
// with. It minimizes any smooth f over a flat vector, given f and its gradient at a point; the
// ProblemTrainer feeds it one fused kernel call per evaluation.

#include <functional>
#include <string>
#include <vector>

namespace kiln::optim {

/** f(x), writing its gradient at x into `grad` (already sized like x). */
using Objective = std::function<double(const std::vector<double>& x, std::vector<double>& grad)>;

struct LbfgsOptions {
  int max_iterations = 500;
  /** Objective evaluations in all (line searches included); 0: max_iterations * 5 / 4 + 25. */
  int max_evaluations = 0;
  /** Pairs (s, y) remembered. */
  int history = 10;
  /** Converged when the largest gradient entry is at most this. */
  double gradient_tolerance = 1e-9;
  /** Stop when an iteration changes f by at most this times max(|f|, 1), or x by at most
      step_tolerance in every entry. */
  double value_tolerance = 1e-14;
  double step_tolerance = 1e-14;
  /** Strong Wolfe: sufficient decrease c1, curvature c2 (0 < c1 < c2 < 1). */
  double c1 = 1e-4, c2 = 0.9;
  /** Called after every iteration with (iteration, f, largest gradient entry). */
  std::function<void(int, double, double)> on_iteration;
};

struct LbfgsResult {
  std::vector<double> x;
  double f = 0;
  double gradient_max = 0;
  int iterations = 0;
  int evaluations = 0;
  /** Why it stopped: "gradient", "value", "step", "iterations", "evaluations" or "line search". */
  std::string stop;
};

/**
 * Minimizes f from x0. Never evaluates f at a point with a non-finite value twice in a row: a
 * step to inf or NaN is shortened. Throws kiln::Error when f or its gradient at x0 is not finite.
 */
LbfgsResult lbfgs(const Objective& f, std::vector<double> x0, const LbfgsOptions& options = {});

} // namespace kiln::optim
