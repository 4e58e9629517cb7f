// Every row of the op table (tests/support/op_table.h) gets shape, derivative (Taylor, first
// and second order) and rule-completeness checks.

#include <catch2/catch.hpp>

#include <algorithm>

#include "ir/interpret.h"
#include "ir/print.h"
#include "ir/val.h"
#include "tests/support/op_table.h"
#include "tests/support/taylor.h"

using namespace kiln;
using namespace kiln::ir;

using namespace kiln::test;

TEST_CASE("every op has a row in the op table") {
  for (Op op : all_ops()) {
    if (op_def(op).kind == OpKind::Leaf)
      continue; // leaves appear in every row's graph
    const bool found =
        std::any_of(op_table().begin(), op_table().end(), [&](const Row& r) { return r.op == op; });
    INFO("op " << op_name(op) << " has no row in tests/support/op_table.h");
    CHECK(found);
  }
}

TEST_CASE("every op has every rule") {
  for (Op op : all_ops()) {
    const OpDef& d = op_def(op);
    INFO("op " << op_name(op));
    CHECK(d.name == op_name(op));
    CHECK(op_from_name(d.name) == op);
    if (d.kind == OpKind::Leaf)
      continue;
    CHECK(d.infer != nullptr);
    CHECK((d.vjp != nullptr) == d.differentiable);
    if (d.kind == OpKind::Elementwise) {
      // A positional op's value depends on where the element is: it evaluates whole tensors.
      CHECK((d.scalar != nullptr) != d.positional);
      CHECK((d.eval != nullptr) == d.positional);
      CHECK(!d.render.empty());
    } else {
      CHECK(d.eval != nullptr); // other kinds render through codegen templates chosen by kind
      CHECK(!d.positional);
    }
    CHECK((d.kind == OpKind::Window) == (d.window != nullptr));
    if (d.window)
      CHECK(d.window->element != nullptr);
  }
}

TEST_CASE("every op's shape rule agrees with its evaluation") {
  for (const Row& row : op_table()) {
    INFO(row_name(row));
    const RowGraph r = build(row, 1);
    const NodeId y = r.graph.output("y");
    const Tensor t = interpret_node(r.graph, y, r.values);
    CHECK(t.dims == r.graph.node(y).type.shape.concrete(kRows));
    CHECK(t.dtype == r.graph.node(y).type.dtype);
  }
}

TEST_CASE("Taylor test of every differentiable op (f64)") {
  for (const Row& row : op_table()) {
    if (!taylor_applies(row))
      continue;
    for (uint64_t seed : {1u, 2u}) {
      INFO(row_name(row) << " seed " << seed);
      const RowGraph r = build(row, seed);
      const test::TaylorResult t = test::taylor_test(r.graph, "f", r.values, r.float_leaves, seed);
      INFO(t.report());
      CHECK(t.passed());
    }
  }
}

TEST_CASE("Taylor test of every op's derivative rule differentiated again (f64)") {
  // g(x) = <u, grad_x0 f(x)> is built from the op's VJP; its Taylor test checks the VJP's
  // own derivative, which second-order methods and physics-informed losses rely on.
  for (const Row& row : op_table()) {
    if (!taylor_applies(row))
      continue;
    INFO(row_name(row));
    RowGraph r = build(row, 3);
    Builder b(ir::grad(r.graph, "f", {r.float_leaves[0]}));
    const Val g(b, b.graph().output("grad_" + r.float_leaves[0]));
    const NodeId u = b.input("u", g.type());
    Tensor ut(g.dtype(), g.shape().concrete(kRows));
    Rng rng(11);
    for (double& v : ut.data)
      v = rng.uniform(-1.0, 1.0);
    r.values.emplace("u", std::move(ut));
    b.set_output("g", sum_all(g * Val(b, u)).id());
    const test::TaylorResult t = test::taylor_test(b.graph(), "g", r.values, r.float_leaves, 5);
    INFO(t.report());
    CHECK(t.passed());
  }
}

TEST_CASE("ops without a derivative pass no gradient") {
  for (const Row& row : op_table()) {
    if (op_def(row.op).differentiable)
      continue;
    INFO(row_name(row));
    const RowGraph r = build(row, 4);
    const Graph dg = optimize(ir::grad(r.graph, "f", r.float_leaves));
    for (const std::string& leaf : r.float_leaves) {
      const NodeId gid = dg.output("grad_" + leaf);
      CHECK(dg.node(gid).op == Op::Constant);
      CHECK(interpret_node(dg, gid, r.values).data ==
            std::vector<double>(r.values.at(leaf).data.size(), 0.0));
    }
  }
}

TEST_CASE("stop_gradient is the identity with a zero derivative") {
  const Row row{Op::StopGradient, {{f64({N, 3})}}};
  const RowGraph r = build(row, 6);
  CHECK(interpret_node(r.graph, r.graph.output("y"), r.values).data == r.values.at("x0").data);
  const Graph dg = optimize(ir::grad(r.graph, "f", {"x0"}));
  const Tensor g = interpret_node(dg, dg.output("grad_x0"), r.values);
  CHECK(std::all_of(g.data.begin(), g.data.end(), [](double v) { return v == 0.0; }));
}
