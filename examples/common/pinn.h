#pragma once
// What the physics-informed examples share: the network, the relative L2 error against the
// exact solution on a grid, heat maps of the solution and the error, and the loss curves of
// every term.

#include <functional>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "frontend/kiln.h"
#include "io/points.h"
#include "trainer/problem_trainer.h"

namespace kiln::examples {

/** in -> width (tanh) x depth -> 1, PyTorch's initialization. */
nn::Sequential tanh_mlp(int64_t in, int64_t width, int depth);

/** Adam's history, then L-BFGS's report. */
struct PinnRun {
  History adam;
  LbfgsReport lbfgs;
};

/**
 * What every physics-informed example trains: --epochs full-batch iterations of the problem's
 * optimizer on --device (points redrawn every 500 iterations, logged every 100), then `lbfgs`
 * L-BFGS iterations. With --checkpoint the state is saved every 100 iterations and at the end;
 * with --resume a run starts from it and trains what is left of --epochs (then L-BFGS again).
 */
PinnRun adam_then_lbfgs(ProblemTrainer& trainer, const PointSampler& draw, const Options& o,
                        int lbfgs);

/** A solution sampled on an n x n grid (row 0 at the top, as grid_2d lays it out). */
struct Field {
  int n = 0;
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  std::string x_label = "x", y_label = "y";
  MatrixRM points;          // [n * n, 2]
  std::vector<bool> inside; // the grid points in the domain (all of them for a box)
};
Field field(const data::Domain& d, int n, std::string x_label = "x", std::string y_label = "y");
/** A space-time field: x over the domain's one axis, t over [t0, t1]. */
Field field(double x_lo, double x_hi, double t0, double t1, int n);

/**
 * The relative L2 error ||u - exact|| / ||exact|| over the field's points inside the domain, and
 * heat maps of the prediction and of |u - exact| (<prefix>_solution.png, <prefix>_error.png).
 */
double compare(const Field& f, const MatrixRM& u, const std::function<double(float, float)>& exact,
               const std::string& prefix, const std::string& title);

/** Log-scale curves of the loss and of every term of a history (<path>). */
void plot_terms(const std::string& path, const std::string& title, const History& h);

} // namespace kiln::examples
