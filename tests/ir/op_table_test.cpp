// The op table: one row per primitive op. Adding an op to ir/op_list.h without a row here
// fails "every op has a row". Each row gets shape, derivative (Taylor, first and second
// order) and rule-completeness checks.

#include <catch2/catch.hpp>

#include <algorithm>

#include "ir/interpret.h"
#include "ir/print.h"
#include "ir/val.h"
#include "tests/support/taylor.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

constexpr int64_t N = kBatch;
constexpr int64_t kRows = 3; // the batch size the rows are evaluated at

/** How to draw an operand's values so that the op is smooth around them. */
enum class Dom { Normal, Positive, NonZero, Binary, Labels4, Spread, AwayFromFirst };

struct Operand {
  Type type;
  Dom dom = Dom::Normal;
};

struct Row {
  Op op;
  std::vector<Operand> in;
  Attrs attrs = {};
};

Type f64(Shape s) { return Type{DType::F64, std::move(s)}; }
Type i32(Shape s) { return Type{DType::I32, std::move(s)}; }

Attrs mm(int ta, int tb) { return Attrs().set("ta", ta).set("tb", tb); }

const std::vector<Row>& op_table() {
  static const std::vector<Row> rows = {
      // keep-sorted by op
      {Op::Abs, {{f64({N, 3}), Dom::NonZero}}},
      {Op::Add, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Broadcast, {{f64({3})}}, Attrs().set("shape", std::vector<int64_t>{N, 2, 3})},
      {Op::Cast, {{f64({N, 3})}}, Attrs().set("dtype", "f64")},
      {Op::Concat, {{f64({N, 2})}, {f64({N, 3})}}, Attrs().set("axis", 1)},
      {Op::Cos, {{f64({N, 3})}}},
      {Op::Div, {{f64({N, 3})}, {f64({N, 3}), Dom::Positive}}},
      {Op::Equal, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Erf, {{f64({N, 3})}}},
      {Op::Exp, {{f64({N, 3})}}},
      {Op::Gather, {{f64({N, 4})}, {i32({N}), Dom::Labels4}}},
      {Op::Greater, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::GreaterEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Less, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::LessEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Log, {{f64({N, 3}), Dom::Positive}}},
      {Op::MatMul, {{f64({N, 4})}, {f64({4, 3})}}, mm(0, 0)},
      {Op::MatMul, {{f64({N, 4})}, {f64({3, 4})}}, mm(0, 1)},
      {Op::MatMul, {{f64({4, N})}, {f64({4, 3})}}, mm(1, 0)},
      {Op::MatMul, {{f64({4, N})}, {f64({3, 4})}}, mm(1, 1)},
      {Op::Max, {{f64({N, 4}), Dom::Spread}}, Attrs().set("axes", std::vector<int64_t>{1})},
      {Op::Maximum, {{f64({N, 3})}, {f64({N, 3}), Dom::AwayFromFirst}}},
      {Op::Mean, {{f64({N, 4})}}, Attrs().set("axes", std::vector<int64_t>{0})},
      {Op::Minimum, {{f64({N, 3})}, {f64({N, 3}), Dom::AwayFromFirst}}},
      {Op::Mul, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Neg, {{f64({N, 3})}}},
      {Op::NotEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::OneHot, {{i32({N}), Dom::Labels4}}, Attrs().set("depth", 4).set("dtype", "f64")},
      {Op::Pow, {{f64({N, 3}), Dom::Positive}, {f64({N, 3})}}},
      {Op::Relu, {{f64({N, 3}), Dom::NonZero}}},
      {Op::Reshape, {{f64({N, 6})}}, Attrs().set("shape", std::vector<int64_t>{N, 2, 3})},
      {Op::Select, {{f64({N, 3}), Dom::Binary}, {f64({N, 3})}, {f64({N, 3})}}},
      {Op::Sigmoid, {{f64({N, 3})}}},
      {Op::Sin, {{f64({N, 3})}}},
      {Op::Slice, {{f64({N, 5})}}, Attrs().set("axis", 1).set("begin", 1).set("end", 4)},
      {Op::Sqrt, {{f64({N, 3}), Dom::Positive}}},
      {Op::Square, {{f64({N, 3})}}},
      {Op::StopGradient, {{f64({N, 3})}}},
      {Op::Sub, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Sum, {{f64({N, 2, 3})}}, Attrs().set("axes", std::vector<int64_t>{0, 2})},
      {Op::Tanh, {{f64({N, 3})}}},
      {Op::Transpose, {{f64({2, 3, 4})}}, Attrs().set("perm", std::vector<int64_t>{2, 0, 1})},
  };
  return rows;
}

std::string leaf_name(size_t i) { return "x" + std::to_string(i); }

/** The graph f = sum(w * op(x0, x1, ...)) plus the op's node as output "y". */
struct RowGraph {
  Graph graph;
  Bindings values;
  std::vector<std::string> float_leaves;
};

RowGraph build(const Row& row, uint64_t seed) {
  Builder b;
  Rng rng(seed);
  RowGraph r;
  std::vector<NodeId> ids;
  for (size_t i = 0; i < row.in.size(); ++i) {
    const Operand& o = row.in[i];
    const bool is_f = is_float(o.type.dtype);
    ids.push_back(is_f ? b.param(leaf_name(i), o.type) : b.input(leaf_name(i), o.type));
    Tensor t(o.type.dtype, o.type.shape.concrete(kRows));
    for (int64_t k = 0; k < t.numel(); ++k) {
      double u = rng.uniform(-1.5, 1.5);
      switch (o.dom) {
      case Dom::Normal: break;
      case Dom::Positive: u = 0.5 + std::abs(u); break;
      case Dom::NonZero: u = u < 0 ? u - 0.3 : u + 0.3; break;
      case Dom::Binary: u = u < 0 ? 0.0 : 1.0; break;
      case Dom::Labels4: u = static_cast<double>(rng.below(4)); break;
      case Dom::Spread: u = 0.5 * static_cast<double>(k % 4) + 0.05 * u; break;
      case Dom::AwayFromFirst: {
        const double first = r.values.at(leaf_name(0))[k];
        u = first + (u < 0 ? -0.6 : 0.6) + 0.2 * u;
        break;
      }
      }
      t[k] = u;
    }
    if (o.dom == Dom::Spread) // shuffle each row so the max is not always last
      for (int64_t k = 0; k + 1 < t.numel(); ++k) std::swap(t[k], t[k + rng.below(static_cast<uint32_t>(t.numel() - k))]);
    if (is_f && o.dom != Dom::Binary) r.float_leaves.push_back(leaf_name(i)); // a condition stays 0/1
    r.values.emplace(leaf_name(i), std::move(t));
  }
  const NodeId y = b.make(row.op, ids, row.attrs);
  const Type yt = b.type(y);
  const NodeId w = b.input("w", yt);
  Tensor wt(yt.dtype, yt.shape.concrete(kRows));
  for (double& v : wt.data) v = rng.uniform(-1.0, 1.0);
  r.values.emplace("w", std::move(wt));
  b.set_output("y", y);
  b.set_output("f", sum_all(Val(b, y) * Val(b, w)).id());
  r.graph = b.graph();
  return r;
}

std::string row_name(const Row& row) {
  std::string s(op_name(row.op));
  if (!row.attrs.empty()) s += " " + row.attrs.str();
  return s;
}

bool taylor_applies(const Row& row) {
  return op_def(row.op).differentiable && row.op != Op::StopGradient;
}

} // namespace

TEST_CASE("every op has a row in the op table") {
  for (Op op : all_ops()) {
    if (op_def(op).kind == OpKind::Leaf) continue; // leaves appear in every row's graph
    const bool found = std::any_of(op_table().begin(), op_table().end(),
                                   [&](const Row& r) { return r.op == op; });
    INFO("op " << op_name(op) << " has no row in tests/ir/op_table_test.cpp");
    CHECK(found);
  }
}

TEST_CASE("every op has every rule") {
  for (Op op : all_ops()) {
    const OpDef& d = op_def(op);
    INFO("op " << op_name(op));
    CHECK(d.name == op_name(op));
    CHECK(op_from_name(d.name) == op);
    if (d.kind == OpKind::Leaf) continue;
    CHECK(d.infer != nullptr);
    CHECK((d.vjp != nullptr) == d.differentiable);
    if (d.kind == OpKind::Elementwise) {
      CHECK(d.scalar != nullptr);
      CHECK(!d.render.empty());
    } else {
      CHECK(d.eval != nullptr); // other kinds render through codegen templates chosen by kind
    }
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
    if (!taylor_applies(row)) continue;
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
    if (!taylor_applies(row)) continue;
    INFO(row_name(row));
    RowGraph r = build(row, 3);
    Builder b(ir::grad(r.graph, "f", {r.float_leaves[0]}));
    const Val g(b, b.graph().output("grad_" + r.float_leaves[0]));
    const NodeId u = b.input("u", g.type());
    Tensor ut(g.dtype(), g.shape().concrete(kRows));
    Rng rng(11);
    for (double& v : ut.data) v = rng.uniform(-1.0, 1.0);
    r.values.emplace("u", std::move(ut));
    b.set_output("g", sum_all(g * Val(b, u)).id());
    const test::TaylorResult t = test::taylor_test(b.graph(), "g", r.values, r.float_leaves, 5);
    INFO(t.report());
    CHECK(t.passed());
  }
}

TEST_CASE("ops without a derivative pass no gradient") {
  for (const Row& row : op_table()) {
    if (op_def(row.op).differentiable) continue;
    INFO(row_name(row));
    const RowGraph r = build(row, 4);
    const Graph dg = optimize(ir::grad(r.graph, "f", r.float_leaves));
    for (const std::string& leaf : r.float_leaves) {
      const NodeId gid = dg.output("grad_" + leaf);
      CHECK(dg.node(gid).op == Op::Constant);
      CHECK(interpret_node(dg, gid, r.values).data == std::vector<double>(r.values.at(leaf).data.size(), 0.0));
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
