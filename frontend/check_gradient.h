#pragma once
// The course's Taylor test ("Testing Layers") for any expression: does the derivative kiln
// computes (or one you claim) match the values? With h = 2^-k and a random direction p,
//   E0(h) = |f(x + h p) - f(x)|                 must fall as O(h),
//   E1(h) = |f(x + h p) - f(x) - h <grad f, p>|  must fall as O(h^2) (by 4x per halving of h).
// Values come from the reference interpreter in double precision.

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "frontend/expr.h"
#include "ir/interpret.h"

namespace kiln {

/** What check_gradient saw. */
struct GradientCheck {
  std::vector<double> h, e0, e1;
  bool passed = false;
  /** The course's table: h, E0, E1 as "m x 2^(e)", then "Gradient PASSED!" or "... FAILED.". */
  std::string table;
};

struct GradientCheckOptions {
  /** Values of the expression's leaves; params not given start from their initializers (seeded),
      inputs not given are N(0, 1) with `rows` rows where their batch dim is. */
  ir::Bindings at;
  uint64_t seed = 42;
  int rows = 11;
  /** Steps h = 2^0 ... 2^-(steps - 1). */
  int steps = 15;
  /** The table goes here too (nullptr: nowhere). */
  std::ostream* out = nullptr;
};

/**
 * Taylor test of the scalar expression `f` with respect to `wrt` (an Input or a Param of f),
 * with the gradient kiln's autodiff computes, or `claimed` (an expression shaped like wrt,
 * e.g. a hand-derived gradient to check). Passes as the course's test does: more than 3 halvings
 * of h divide E1 by at least 2^1.9, or E1 sits at rounding level. Throws kiln::ShapeError when f
 * is not a scalar or wrt is not one of its leaves.
 */
GradientCheck check_gradient(const Expr& f, const Expr& wrt,
                             const GradientCheckOptions& options = {},
                             const std::optional<Expr>& claimed = std::nullopt);

} // namespace kiln
