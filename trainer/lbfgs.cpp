#include "trainer/lbfgs.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "base/error.h"

namespace kiln::optim {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a)
    m = std::max(m, std::abs(v));
  return m;
}

/** One evaluated point along the search line x + a d. */
struct Sample {
  double a = 0, f = 0, slope = 0; // slope: g(x + a d)^T d
  std::vector<double> g;
};

/**
 * The minimizer of the cubic through (a, fa, da) and (b, fb, db), kept inside the bracket's
 * middle 80% (bisection where the cubic has no minimum there).
 */
double cubic_step(const Sample& lo, const Sample& hi) {
  const double d1 = lo.slope + hi.slope - 3 * (lo.f - hi.f) / (lo.a - hi.a);
  const double disc = d1 * d1 - lo.slope * hi.slope;
  const double left = std::min(lo.a, hi.a), right = std::max(lo.a, hi.a);
  const double margin = 0.1 * (right - left);
  double a = 0.5 * (lo.a + hi.a);
  if (disc >= 0) {
    const double d2 = std::copysign(std::sqrt(disc), hi.a - lo.a);
    const double t = hi.a - (hi.a - lo.a) * (hi.slope + d2 - d1) / (hi.slope - lo.slope + 2 * d2);
    if (std::isfinite(t))
      a = t;
  }
  return std::clamp(a, left + margin, right - margin);
}

class Search {
public:
  Search(const Objective& f, const std::vector<double>& x, const std::vector<double>& d,
         const Sample& start, const LbfgsOptions& o, int& evaluations, int budget)
      : f_(f), x_(x), d_(d), s0_(start), o_(o), evals_(evaluations), budget_(budget) {}

  /** A step satisfying the strong Wolfe conditions, or the best point seen (ok = false). */
  Sample run(double a1, bool& ok) {
    Sample prev = s0_;
    double a = a1;
    for (int i = 0; i < 40 && evals_ < budget_; ++i) {
      Sample s = at(a);
      if (!std::isfinite(s.f)) { // too far: shorten
        a = 0.5 * (prev.a + a);
        continue;
      }
      if (s.f > s0_.f + o_.c1 * a * s0_.slope || (i > 0 && s.f >= prev.f))
        return zoom(prev, s, ok);
      if (std::abs(s.slope) <= -o_.c2 * s0_.slope)
        return ok = true, s;
      if (s.slope >= 0)
        return zoom(s, prev, ok);
      prev = s;
      a *= 2;
    }
    ok = false;
    return best_;
  }

private:
  Sample at(double a) {
    Sample s;
    s.a = a;
    std::vector<double> p(x_.size());
    for (size_t i = 0; i < p.size(); ++i)
      p[i] = x_[i] + a * d_[i];
    s.g.assign(p.size(), 0.0);
    s.f = f_(p, s.g);
    ++evals_;
    s.slope = dot(s.g, d_);
    if (std::isfinite(s.f) && (best_.g.empty() || s.f < best_.f))
      best_ = s;
    return s;
  }

  Sample zoom(Sample lo, Sample hi, bool& ok) {
    for (int i = 0; i < 40 && evals_ < budget_; ++i) {
      const Sample s = at(cubic_step(lo, hi));
      if (!std::isfinite(s.f) || s.f > s0_.f + o_.c1 * s.a * s0_.slope || s.f >= lo.f) {
        hi = s;
        continue;
      }
      if (std::abs(s.slope) <= -o_.c2 * s0_.slope)
        return ok = true, s;
      if (s.slope * (hi.a - lo.a) >= 0)
        hi = lo;
      lo = s;
      if (std::abs(hi.a - lo.a) < 1e-16 * std::max(1.0, std::abs(lo.a)))
        break;
    }
    ok = false;
    return best_;
  }

  const Objective& f_;
  const std::vector<double>& x_;
  const std::vector<double>& d_;
  const Sample& s0_;
  const LbfgsOptions& o_;
  int& evals_;
  const int budget_;
  Sample best_;
};

} // namespace

LbfgsResult lbfgs(const Objective& f, std::vector<double> x, const LbfgsOptions& o) {
  const int budget = o.max_evaluations > 0 ? o.max_evaluations : o.max_iterations * 5 / 4 + 25;
  LbfgsResult r;
  std::vector<double> g(x.size(), 0.0);
  double fx = f(x, g);
  r.evaluations = 1;
  if (!std::isfinite(fx) || !std::isfinite(max_abs(g)))
    throw Error(
        str("[lbfgs] the objective or its gradient is not finite at the start (f = ", fx, ")"));
  std::deque<std::pair<std::vector<double>, std::vector<double>>> memory; // (s, y)
  r.stop = "iterations";
  for (int k = 0; k < o.max_iterations; ++k) {
    if (max_abs(g) <= o.gradient_tolerance) {
      r.stop = "gradient";
      break;
    }
    // Two-loop recursion: d = -H g, H0 = (s^T y / y^T y) I from the newest pair.
    std::vector<double> q = g;
    std::vector<double> alpha(memory.size());
    for (size_t i = memory.size(); i-- > 0;) {
      const auto& [s, y] = memory[i];
      alpha[i] = dot(s, q) / dot(y, s);
      for (size_t j = 0; j < q.size(); ++j)
        q[j] -= alpha[i] * y[j];
    }
    const double gamma = memory.empty() ? 1.0
                                        : dot(memory.back().first, memory.back().second) /
                                              dot(memory.back().second, memory.back().second);
    for (double& v : q)
      v *= gamma;
    for (size_t i = 0; i < memory.size(); ++i) {
      const auto& [s, y] = memory[i];
      const double beta = dot(y, q) / dot(y, s);
      for (size_t j = 0; j < q.size(); ++j)
        q[j] += (alpha[i] - beta) * s[j];
    }
    std::vector<double> d(q.size());
    for (size_t j = 0; j < d.size(); ++j)
      d[j] = -q[j];
    Sample start{0.0, fx, dot(g, d), g};
    if (start.slope >= 0) { // not a descent direction (rounding): start over from -g
      memory.clear();
      for (size_t j = 0; j < d.size(); ++j)
        d[j] = -g[j];
      start.slope = dot(g, d);
    }
    // The first step has no curvature to go by: a unit step along -g scaled to length 1.
    double a1 = 1.0;
    if (memory.empty()) {
      double l1 = 0;
      for (double v : g)
        l1 += std::abs(v);
      a1 = std::min(1.0, 1.0 / l1);
    }
    bool ok = false;
    Search search(f, x, d, start, o, r.evaluations, budget);
    const Sample s = search.run(a1, ok);
    if (s.g.empty() || !(s.f < fx)) {
      r.stop = r.evaluations >= budget ? "evaluations" : "line search";
      break;
    }
    std::vector<double> step(x.size()), dy(x.size());
    for (size_t j = 0; j < x.size(); ++j) {
      step[j] = s.a * d[j];
      dy[j] = s.g[j] - g[j];
      x[j] += step[j];
    }
    // Keep a pair only where the curvature is positive, so H stays positive definite.
    if (dot(step, dy) > 1e-10 * dot(dy, dy)) {
      memory.emplace_back(step, dy);
      if (static_cast<int>(memory.size()) > o.history)
        memory.pop_front();
    }
    const double change = std::abs(fx - s.f);
    fx = s.f;
    g = s.g;
    r.iterations = k + 1;
    if (o.on_iteration)
      o.on_iteration(r.iterations, fx, max_abs(g));
    if (max_abs(g) <= o.gradient_tolerance) {
      r.stop = "gradient";
      break;
    }
    if (change <= o.value_tolerance * std::max(std::abs(fx), 1.0)) {
      r.stop = "value";
      break;
    }
    if (max_abs(step) <= o.step_tolerance) {
      r.stop = "step";
      break;
    }
    if (r.evaluations >= budget) {
      r.stop = "evaluations";
      break;
    }
    if (!ok && memory.empty()) {
      r.stop = "line search";
      break;
    }
  }
  r.x = std::move(x);
  r.f = fx;
  r.gradient_max = max_abs(g);
  return r;
}

} // namespace kiln::optim
