#pragma once
// The Taylor test: for a smooth scalar f, a point theta and a random direction v,
//   r1(h) = |f(theta + h v) - f(theta)|                     falls as O(h),
//   r2(h) = |f(theta + h v) - f(theta) - h <grad f, v>|     falls as O(h^2).
// A wrong gradient leaves r2 at O(h). The gradient comes from kiln's symbolic autodiff and
// every value from the reference interpreter, in f64.

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"

namespace kiln::test {

struct TaylorResult {
  std::vector<double> h, r1, r2;
  double order1 = 0, order2 = 0;
  /** r2 stayed at rounding level: f is linear along v (its O(h^2) bound holds trivially). */
  bool exact = false;
  /** r1 stayed at rounding level too: f is constant along v (and its gradient must be 0). */
  bool constant = false;

  /** Median slope of log r against log h over consecutive steps. */
  static double order(const std::vector<double>& h, const std::vector<double>& r) {
    std::vector<double> s;
    for (size_t i = 1; i < h.size(); ++i)
      if (r[i] > 0 && r[i - 1] > 0)
        s.push_back(std::log(r[i - 1] / r[i]) / std::log(h[i - 1] / h[i]));
    if (s.empty())
      return 0;
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }

  bool passed() const {
    if (constant)
      return exact;
    return std::abs(order1 - 1.0) < 0.2 && (exact || std::abs(order2 - 2.0) < 0.2);
  }

  std::string report() const {
    std::ostringstream os;
    os << "order1=" << order1 << " order2=" << order2 << (exact ? " (exact)" : "")
       << (constant ? " (constant)" : "") << "\n";
    for (size_t i = 0; i < h.size(); ++i)
      os << "  h=" << h[i] << "  r1=" << r1[i] << "  r2=" << r2[i] << "\n";
    return os.str();
  }
};

/** Adds h * dir to every leaf named in `dir`. */
inline ir::Bindings shifted(ir::Bindings at, const ir::Bindings& dir, double h) {
  for (const auto& [name, d] : dir)
    for (int64_t i = 0; i < d.numel(); ++i)
      at[name][i] += h * d[i];
  return at;
}

inline double scalar_of(const ir::Graph& g, const std::string& out, const ir::Bindings& at) {
  return ir::interpret_node(g, g.output(out), at)[0];
}

/**
 * Taylor test of the scalar output `out` of `g` with respect to the leaves `wrt`, at `at`,
 * along a random direction.
 */
inline TaylorResult taylor_test(const ir::Graph& g, const std::string& out, const ir::Bindings& at,
                                const std::vector<std::string>& wrt, uint64_t seed = 7) {
  const ir::Graph dg = ir::optimize(ir::grad(g, out, wrt));
  // A unit-length direction: with many parameters an N(0,1) entry each would make the h^2
  // term swamp the h term over the whole range of h.
  Rng rng(seed);
  ir::Bindings dir;
  double norm = 0;
  for (const std::string& w : wrt) {
    ir::Tensor v = at.at(w);
    for (double& x : v.data) {
      x = rng.normal();
      norm += x * x;
    }
    dir.emplace(w, std::move(v));
  }
  double slope = 0;
  for (auto& [w, v] : dir) {
    for (double& x : v.data)
      x /= std::sqrt(norm);
    const ir::Tensor gw = ir::interpret_node(dg, dg.output("grad_" + w), at);
    for (int64_t i = 0; i < v.numel(); ++i)
      slope += gw[i] * v[i];
  }
  const double f0 = scalar_of(g, out, at);
  TaylorResult r;
  double h = 0.1;
  for (int k = 0; k < 8; ++k, h *= 0.5) {
    const double fh = scalar_of(g, out, shifted(at, dir, h));
    r.h.push_back(h);
    r.r1.push_back(std::abs(fh - f0));
    r.r2.push_back(std::abs(fh - f0 - h * slope));
  }
  r.order1 = TaylorResult::order(r.h, r.r1);
  r.order2 = TaylorResult::order(r.h, r.r2);
  const double scale = 1.0 + std::abs(f0) + std::abs(slope);
  r.exact = *std::max_element(r.r2.begin(), r.r2.end()) < 1e-11 * scale;
  r.constant = *std::max_element(r.r1.begin(), r.r1.end()) < 1e-11 * scale;
  return r;
}

} // namespace kiln::test
