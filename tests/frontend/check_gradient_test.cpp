// kiln::check_gradient: the course's "Testing Layers" notebook, on its special residual layer
// z = u + tanh(u K^T) with an MSE loss.

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "frontend/kiln.h"

using namespace kiln;

namespace {

struct SpecialResidual {
  Input<3> u{"u"};
  Param<3, 3> K{"K"};
  Input<3> y{"y_true"};
  Expr z = u + tanh(linear(u, K));
  // nn.MSELoss: the mean over all 11 x 3 entries.
  Expr loss = mean(square(z - y));
};

} // namespace

TEST_CASE("check_gradient passes kiln's gradients, by the weights and by the features") {
  SpecialResidual layer;
  std::ostringstream printed;
  const GradientCheck w = check_gradient(layer.loss, layer.K, {.out = &printed});
  CHECK(w.passed);
  REQUIRE(w.e1.size() == 15);
  // E1 falls by about 4 per halving of h (second order) and E0 by about 2 (first order).
  CHECK(w.e1[4] / w.e1[5] == Approx(4.0).epsilon(0.1));
  CHECK(w.e0[8] / w.e0[9] == Approx(2.0).epsilon(0.1));
  CHECK(printed.str() == w.table);
  CHECK(w.table.find("h                   E0                  E1\n") == 0);
  CHECK(w.table.find("1.00 x 2^(-14)") != std::string::npos);
  CHECK(w.table.ends_with("Gradient PASSED!\n"));
  CHECK(check_gradient(layer.loss, layer.u).passed);
}

TEST_CASE("check_gradient checks a hand-derived gradient: the notebook's right, a wrong one not") {
  SpecialResidual layer;
  // dL/dz = 2 (z - y) / 33; dL/dK = ((1 - tanh^2(u K^T)) * dL/dz)^T u, as the notebook derives.
  const Expr a = tanh(linear(layer.u, layer.K));
  const Expr dz = (2.0 / 33.0) * (layer.z - layer.y);
  const Expr right = matmul(transpose(mul(1.0 - square(a), dz)), layer.u);
  CHECK(check_gradient(layer.loss, layer.K, {}, right).passed);
  const GradientCheck wrong = check_gradient(layer.loss, layer.K, {}, 2.0 * right);
  CHECK_FALSE(wrong.passed);
  CHECK(wrong.table.ends_with("Gradient FAILED.\n"));
  // A wrong gradient leaves E1 falling as h, not h^2.
  CHECK(wrong.e1[8] / wrong.e1[9] == Approx(2.0).epsilon(0.1));
}

TEST_CASE("check_gradient: what it cannot check") {
  SpecialResidual layer;
  CHECK_THROWS_WITH(
      check_gradient(layer.z, layer.K),
      "[check_gradient] f must be a scalar, got f64[N,3]; reduce it with sum or mean");
  CHECK_THROWS_WITH(check_gradient(layer.loss, layer.K, {}, Expr(layer.u)),
                    Catch::Matchers::StartsWith("[check_gradient] the claimed gradient f64[11,3] "
                                                "is not shaped like K f64[3,3]"));
}
