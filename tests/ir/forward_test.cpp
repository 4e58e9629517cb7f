// Forward mode (ir/forward.h): every op's jvp rule against reverse mode and against finite
// differences to second order, and second input derivatives of networks against
// reverse-over-reverse.

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/forward.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "tests/support/op_table.h"
#include "tests/support/taylor.h"

using namespace kiln;
using namespace kiln::ir;
using namespace kiln::test;

namespace {

/** Random unit-length directions for the float leaves of a row's graph, as new inputs. */
struct Directed {
  Graph graph; // outputs: those of the row, plus "f1" = <w, J v> and "f2" = <w, J2 v v>
  Bindings values;
  Bindings dir; // the direction, by leaf name
};

Directed directed(const RowGraph& r, uint64_t seed) {
  Builder b(r.graph);
  Rng rng(seed);
  Directed d{{}, r.values, {}};
  double norm = 0;
  std::vector<NodeId> leaves, dirs;
  for (const std::string& name : r.float_leaves) {
    auto leaf = r.graph.find_leaf(Op::Param, name);
    if (!leaf)
      leaf = r.graph.find_leaf(Op::Input, name);
    Tensor v = r.values.at(name);
    for (double& x : v.data) {
      x = rng.normal();
      norm += x * x;
    }
    leaves.push_back(*leaf);
    dirs.push_back(b.input("v_" + name, b.type(*leaf)));
    d.dir.emplace(name, std::move(v));
  }
  for (auto& [name, v] : d.dir) {
    for (double& x : v.data)
      x /= std::sqrt(norm);
    d.values.emplace("v_" + name, v);
  }
  const NodeId y = r.graph.output("y");
  const Val w(b, *r.graph.find_leaf(Op::Input, "w"));
  const NodeId jy = append_jvp(b, y, leaves, dirs);
  const NodeId jjy = append_jvp(b, jy, leaves, dirs);
  b.set_output("f1", sum_all(Val(b, jy) * w).id());
  b.set_output("f2", sum_all(Val(b, jjy) * w).id());
  d.graph = b.graph();
  return d;
}

} // namespace

TEST_CASE("every differentiable op has a forward rule, and only those do") {
  for (Op op : all_ops()) {
    INFO(op_name(op));
    CHECK((op_def(op).jvp != nullptr) == op_def(op).differentiable);
  }
}

TEST_CASE("forward mode of every op agrees with reverse mode: <w, J v> = <J^T w, v>") {
  for (const Row& row : op_table()) {
    if (!taylor_applies(row))
      continue;
    for (uint64_t seed : {1u, 2u}) {
      INFO(row_name(row) << " seed " << seed);
      const RowGraph r = build(row, seed);
      const Directed d = directed(r, seed + 10);
      const double forward = scalar_of(d.graph, "f1", d.values);
      const Graph g = optimize(ir::grad(r.graph, "f", r.float_leaves));
      double reverse = 0;
      for (const std::string& name : r.float_leaves) {
        const Tensor gr = interpret_node(g, g.output("grad_" + name), r.values);
        for (int64_t i = 0; i < gr.numel(); ++i)
          reverse += gr[i] * d.dir.at(name)[i];
      }
      CHECK(forward == Approx(reverse).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("Taylor test of every op's forward rule, first and second order") {
  // Along v: r2(h) = |f(x + h v) - f - h f'| falls as h^2 and
  //          r3(h) = |f(x + h v) - f - h f' - h^2/2 f''| as h^3, f' and f'' from forward mode.
  for (const Row& row : op_table()) {
    if (!taylor_applies(row))
      continue;
    INFO(row_name(row));
    const RowGraph r = build(row, 3);
    const Directed d = directed(r, 13);
    const double f0 = scalar_of(r.graph, "f", r.values);
    const double f1 = scalar_of(d.graph, "f1", d.values);
    const double f2 = scalar_of(d.graph, "f2", d.values);
    std::vector<double> hs, r2, r3;
    double h = 0.05;
    for (int k = 0; k < 7; ++k, h *= 0.5) {
      const double fh = scalar_of(r.graph, "f", shifted(r.values, d.dir, h));
      hs.push_back(h);
      r2.push_back(std::abs(fh - f0 - h * f1));
      r3.push_back(std::abs(fh - f0 - h * f1 - 0.5 * h * h * f2));
    }
    std::ostringstream table;
    for (size_t i = 0; i < hs.size(); ++i)
      table << "h=" << hs[i] << " r2=" << r2[i] << " r3=" << r3[i] << "\n";
    INFO(table.str());
    const double scale = 1.0 + std::abs(f0) + std::abs(f1) + std::abs(f2);
    const bool linear = r2[0] < 1e-12 * scale; // the op is linear along v
    // A wrong f' leaves r2 at O(h), a wrong f'' leaves r3 at O(h^2); faster than h^2 and h^3 is
    // fine (a small third derivative lets the fourth order show at large h).
    if (!linear)
      CHECK(TaylorResult::order(hs, r2) >= 1.8);
    const bool quadratic = r3[0] < 1e-12 * scale;
    if (!quadratic && !linear)
      CHECK(TaylorResult::order(hs, r3) >= 2.75);
    if (linear)
      CHECK(std::abs(f2) <= 1e-12 * scale);
  }
}

TEST_CASE("forward over forward gives the same u_x, u_xx and Laplacian as reverse over reverse") {
  Input x{{2}, "x"};
  nn::Sequential net{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 6), nn::Sigmoid(),
                     nn::Linear(6, 1)};
  const Expr u = net(x);
  const Lowered l = lower({{"u", u}}, DType::F64);
  Builder b(l.graph);
  const NodeId xid = *l.graph.find_leaf(Op::Input, "x");
  const Val xv(b, xid);
  // e_j: the direction that moves column j of every point.
  auto column = [&](int j) {
    std::vector<Val> parts;
    for (int k = 0; k < 2; ++k)
      parts.push_back(constant(b, k == j ? 1.0 : 0.0, Type{DType::F64, Shape{kBatch, 1}}));
    return concat(parts, 1);
  };
  const NodeId uid = l.graph.output("u");
  Val lap_fwd, lap_rev;
  for (int j = 0; j < 2; ++j) {
    const NodeId e = column(j).id();
    const NodeId du = append_jvp(b, uid, std::span(&xid, 1), std::span(&e, 1));
    const NodeId d2u = append_jvp(b, du, std::span(&xid, 1), std::span(&e, 1));
    b.set_output("du" + std::to_string(j), du);
    lap_fwd = j == 0 ? Val(b, d2u) : lap_fwd + Val(b, d2u);
  }
  // Reverse over reverse: grad of sum(u) by x, column j, then its grad again.
  const NodeId g1 = append_gradients(b, sum_all(Val(b, uid)).id(), std::span(&xid, 1)).front();
  for (int j = 0; j < 2; ++j) {
    const Val gj = slice(Val(b, g1), 1, j, j + 1);
    b.set_output("gu" + std::to_string(j), gj.id());
    const NodeId g2 = append_gradients(b, sum_all(gj).id(), std::span(&xid, 1)).front();
    const Val g2j = slice(Val(b, g2), 1, j, j + 1);
    lap_rev = j == 0 ? g2j : lap_rev + g2j;
  }
  b.set_output("lap_fwd", lap_fwd.id());
  b.set_output("lap_rev", lap_rev.id());
  const Graph g = optimize(b.graph());
  Bindings at = init_parameters(l.params, 3, DType::F64);
  Tensor xs(DType::F64, {7, 2});
  Rng rng(5);
  for (double& v : xs.data)
    v = rng.uniform(-1.0, 1.0);
  at.emplace("x", xs);
  auto value = [&](const std::string& name) { return interpret_node(g, g.output(name), at); };
  for (const std::string j : {"0", "1"}) {
    const Tensor f = value("du" + j), r = value("gu" + j);
    for (int64_t i = 0; i < f.numel(); ++i)
      CHECK(f[i] == Approx(r[i]).epsilon(1e-12));
  }
  const Tensor f = value("lap_fwd"), r = value("lap_rev");
  for (int64_t i = 0; i < f.numel(); ++i)
    CHECK(f[i] == Approx(r[i]).epsilon(1e-11));
  // Forward over forward needs no backward pass: fewer nodes for the same Laplacian.
  Builder only(l.graph);
  for (int j = 0; j < 2; ++j) {
    std::vector<Val> parts;
    for (int k = 0; k < 2; ++k)
      parts.push_back(constant(only, k == j ? 1.0 : 0.0, Type{DType::F64, Shape{kBatch, 1}}));
    const NodeId e = concat(parts, 1).id();
    const NodeId du = append_jvp(only, uid, std::span(&xid, 1), std::span(&e, 1));
    only.set_output("d2u" + std::to_string(j),
                    append_jvp(only, du, std::span(&xid, 1), std::span(&e, 1)));
  }
  Builder rev(l.graph);
  const NodeId rg1 = append_gradients(rev, sum_all(Val(rev, uid)).id(), std::span(&xid, 1)).front();
  for (int j = 0; j < 2; ++j) {
    const Val gj = slice(Val(rev, rg1), 1, j, j + 1);
    rev.set_output("d2u" + std::to_string(j),
                   append_gradients(rev, sum_all(gj).id(), std::span(&xid, 1)).front());
  }
  CHECK(optimize(only.graph()).size() < optimize(rev.graph()).size());
}
