// L-BFGS with the strong-Wolfe line search on problems with known minimizers.

#include <catch2/catch.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "trainer/lbfgs.h"

using kiln::optim::lbfgs;
using kiln::optim::LbfgsOptions;
using kiln::optim::LbfgsResult;

namespace {

/** The extended Rosenbrock function: sum over pairs of 100 (x2 - x1^2)^2 + (1 - x1)^2. */
double rosenbrock(const std::vector<double>& x, std::vector<double>& g) {
  double f = 0;
  std::fill(g.begin(), g.end(), 0.0);
  for (size_t i = 0; i + 1 < x.size(); i += 2) {
    const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * a * x[i] - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
}

/** Records that every iteration lowered f. */
struct Descent {
  std::vector<double> values;
  LbfgsOptions options(LbfgsOptions o = {}) {
    o.on_iteration = [this](int, double f, double) { values.push_back(f); };
    return o;
  }
  bool strictly_decreasing() const {
    for (size_t i = 1; i < values.size(); ++i)
      if (!(values[i] < values[i - 1]))
        return false;
    return true;
  }
};

} // namespace

TEST_CASE("lbfgs: a strictly convex quadratic, to its minimizer A^-1 b") {
  const int n = 30;
  kiln::Rng rng(4);
  Eigen::MatrixXd m(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      m(i, j) = rng.normal();
  // Eigenvalues from 1 to ~100.
  Eigen::MatrixXd a = m.transpose() * m / n + Eigen::MatrixXd::Identity(n, n);
  a += 3.0 * Eigen::VectorXd::LinSpaced(n, 0.0, 30.0).asDiagonal().toDenseMatrix();
  Eigen::VectorXd b(n);
  for (int i = 0; i < n; ++i)
    b(i) = rng.uniform(-1.0, 1.0);
  const Eigen::VectorXd want = a.ldlt().solve(b);
  auto f = [&](const std::vector<double>& x, std::vector<double>& g) {
    const Eigen::Map<const Eigen::VectorXd> xv(x.data(), n);
    const Eigen::VectorXd ax = a * xv;
    for (int i = 0; i < n; ++i)
      g[static_cast<size_t>(i)] = ax(i) - b(i);
    return 0.5 * xv.dot(ax) - b.dot(xv);
  };
  Descent d;
  const LbfgsResult r = lbfgs(f, std::vector<double>(n, 0.0), d.options());
  // Converged: the gradient vanished, or f stopped changing (at 1e-14) with x at the minimizer.
  CHECK((r.stop == "gradient" || r.stop == "value"));
  for (int i = 0; i < n; ++i)
    CHECK(r.x[static_cast<size_t>(i)] == Approx(want(i)).margin(1e-8));
  CHECK(r.iterations <= 3 * n);
  CHECK(d.strictly_decreasing());
}

TEST_CASE("lbfgs: Rosenbrock's function in 2 and 10 dimensions, to (1, ..., 1)") {
  for (size_t n : {size_t{2}, size_t{10}}) {
    INFO(n << " dimensions");
    std::vector<double> x0(n);
    for (size_t i = 0; i < n; ++i)
      x0[i] = i % 2 == 0 ? -1.2 : 1.0; // the classic start
    Descent d;
    const LbfgsResult r = lbfgs(rosenbrock, x0, d.options({.max_iterations = 400}));
    INFO("stop " << r.stop << " after " << r.iterations << " iterations, " << r.evaluations
                 << " evaluations, f = " << r.f);
    CHECK((r.stop == "gradient" || r.stop == "value"));
    for (double v : r.x)
      CHECK(v == Approx(1.0).margin(1e-7));
    CHECK(r.f < 1e-14);
    CHECK(r.iterations < 120);
    CHECK(r.evaluations < 2 * r.iterations + 20); // the line search rarely needs a second try
    CHECK(d.strictly_decreasing());
  }
}

TEST_CASE("lbfgs: steps into a region where f is infinite are shortened, not taken") {
  // f = x^2 - log(1 - x^2) on (-1, 1), +inf outside; from 0.9 a unit step lands outside.
  auto f = [](const std::vector<double>& x, std::vector<double>& g) {
    const double v = x[0];
    if (std::abs(v) >= 1) {
      g[0] = 0;
      return std::numeric_limits<double>::infinity();
    }
    g[0] = 2 * v + 2 * v / (1 - v * v);
    return v * v - std::log(1 - v * v);
  };
  const LbfgsResult r = lbfgs(f, {0.9});
  CHECK(r.stop == "gradient");
  CHECK(r.x[0] == Approx(0.0).margin(1e-9));
}

TEST_CASE("lbfgs: an objective that is not finite at the start is an error") {
  auto f = [](const std::vector<double>&, std::vector<double>& g) {
    g[0] = 1;
    return std::numeric_limits<double>::quiet_NaN();
  };
  CHECK_THROWS_WITH(lbfgs(f, {0.0}),
                    "[lbfgs] the objective or its gradient is not finite at the start (f = nan)");
}
