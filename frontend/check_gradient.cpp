#include "frontend/check_gradient.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>

#include "base/error.h"
#include "base/rng.h"
#include "frontend/lower.h"
#include "ir/autodiff.h"
#include "ir/passes.h"

namespace kiln {

namespace {

/** "1.00 x 2^(-03)": the course's base-2 notation. */
std::string base2(double v) {
  if (v == 0)
    return "0.00 x 2^(00)";
  int e = 0;
  const double m = std::frexp(v, &e); // v = m 2^e, m in [0.5, 1)
  char buf[48];
  std::snprintf(buf, sizeof buf, "%0.2f x 2^(%.2d)", 2 * m, e - 1);
  return buf;
}

} // namespace

GradientCheck check_gradient(const Expr& f, const Expr& wrt, const GradientCheckOptions& o,
                             const std::optional<Expr>& claimed) {
  Outputs outs{{"f", f}, {"wrt", wrt}};
  if (claimed)
    outs.emplace_back("claimed", *claimed);
  const Lowered l = lower(outs, ir::DType::F64);
  const ir::Graph& g = l.graph;
  const ir::NodeId fid = g.output("f"), wid = g.output("wrt");
  if (!g.node(fid).type.shape.is_scalar())
    throw ShapeError(str("[check_gradient] f must be a scalar, got ", g.node(fid).type,
                         "; reduce it with sum or mean"));
  const ir::Node& w = g.node(wid);
  if (w.op != ir::Op::Param && w.op != ir::Op::Input)
    throw ShapeError("[check_gradient] wrt must be an Input or a Param of f");

  // The point: given values, initializers, or N(0, 1).
  ir::Bindings at = o.at;
  for (const auto& [name, t] : init_parameters(l.params, o.seed, ir::DType::F64))
    at.emplace(name, t);
  Rng rng(o.seed, 7);
  for (ir::NodeId id : g.leaves(ir::Op::Input)) {
    const ir::Node& n = g.node(id);
    if (at.count(n.name()))
      continue;
    ir::Tensor t(ir::DType::F64, n.type.shape.concrete(o.rows));
    for (double& v : t.data)
      v = rng.normal();
    at.emplace(n.name(), std::move(t));
  }
  const std::string name = w.name();
  const ir::Graph dg = ir::optimize(claimed ? g : ir::grad(g, "f", {name}, {"claimed"}));
  const double f0 = ir::interpret_node(dg, dg.output("f"), at)[0];
  const ir::Tensor grad = ir::interpret_node(dg, dg.output("claimed"), at);
  ir::Tensor p = at.at(name);
  if (grad.numel() != p.numel())
    throw ShapeError(str("[check_gradient] the claimed gradient ", grad.type_str(),
                         " is not shaped like ", name, " ", p.type_str()));
  double pgrad = 0;
  for (int64_t i = 0; i < p.numel(); ++i) {
    p[i] = rng.normal();
    pgrad += p[i] * grad[i];
  }
  GradientCheck r;
  r.table = "h                   E0                  E1\n";
  for (int k = 0; k < o.steps; ++k) {
    const double h = std::ldexp(1.0, -k);
    ir::Bindings moved = at;
    for (int64_t i = 0; i < p.numel(); ++i)
      moved[name][i] += h * p[i];
    const double fh = ir::interpret_node(dg, dg.output("f"), moved)[0];
    r.h.push_back(h);
    r.e0.push_back(std::abs(f0 - fh));
    r.e1.push_back(std::abs(f0 + h * pgrad - fh));
    char line[96];
    std::snprintf(line, sizeof line, "%-20s%-20s%s\n", base2(h).c_str(), base2(r.e0.back()).c_str(),
                  base2(r.e1.back()).c_str());
    r.table += line;
  }
  int halvings = 0;
  for (size_t k = 0; k + 1 < r.e1.size(); ++k)
    halvings += r.e1[k + 1] > 0 && std::log2(r.e1[k] / r.e1[k + 1]) > 1.9;
  std::vector<double> sorted = r.e1;
  std::nth_element(sorted.begin(), sorted.begin() + o.steps / 3 - 1, sorted.end());
  const double eps = std::numeric_limits<double>::epsilon();
  r.passed = halvings > 3 || sorted[static_cast<size_t>(o.steps / 3 - 1)] < 100 * eps;
  r.table += r.passed ? "Gradient PASSED!\n" : "Gradient FAILED.\n";
  if (o.out)
    *o.out << r.table;
  return r;
}

} // namespace kiln
