// Generated CPU kernels against the reference interpreter: every op (values and gradients, f32
// and f64), random graphs, and the course's networks.

#include <catch2/catch.hpp>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "runtime/executable.h"
#include "tests/support/compare.h"
#include "tests/support/op_table.h"
#include "tests/support/random_graph.h"

using namespace kiln;
using namespace kiln::test;

namespace {

/** f32 kernels may reassociate sums, contract FMAs and use kiln's math approximations. */
double tolerance(ir::DType t) { return t == ir::DType::F32 ? 2e-5 : 1e-12; }

/** Compiles `g` and checks every output against the interpreter at the same precision. */
void check_against_interpreter(const ir::Graph& g, const ir::Bindings& values, ir::DType t,
                               const std::string& what) {
  INFO(what << " (" << to_string(t) << ")");
  Executable exe = Executable::compile(g, {.name = "test"});
  const std::vector<ir::Tensor> got = exe.run_tensors(values);
  const std::vector<ir::Tensor> want = ir::interpret(g, values, ir::Precision::Native);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("output " << g.outputs()[i].name << "\n" << side_by_side(got[i], want[i]) << "kernel:\n"
                   << exe.kernel().source.substr(exe.kernel().source.find("extern \"C\"")));
    CHECK(max_rel_error(got[i], want[i]) <= tolerance(t));
  }
}

/** All rows of the op table as one graph: outputs y<k> (the op) and gradients g<k>_<leaf>. */
std::pair<ir::Graph, ir::Bindings> op_table_graph(ir::DType t) {
  ir::Builder all;
  ir::Bindings values;
  for (size_t k = 0; k < op_table().size(); ++k) {
    const Row& row = op_table()[k];
    const RowGraph r = build(row, 10 + k, t);
    ir::Graph g = r.graph;
    if (taylor_applies(row)) g = ir::grad(g, "f", r.float_leaves);
    // Copy the row's graph into the shared builder under prefixed leaf names.
    const std::string prefix = "r" + std::to_string(k) + "_";
    std::vector<ir::NodeId> map(g.size());
    for (ir::NodeId i = 0; i < g.size(); ++i) {
      const ir::Node& n = g.node(i);
      std::vector<ir::NodeId> in;
      for (ir::NodeId x : n.inputs) in.push_back(map[x]);
      ir::Attrs attrs = n.attrs;
      if (n.op == ir::Op::Input || n.op == ir::Op::Param) attrs.set("name", prefix + n.name());
      const bool leaf = n.def().kind == ir::OpKind::Leaf;
      map[i] = all.make(n.op, in, attrs, leaf ? std::optional(n.type) : std::nullopt);
    }
    for (const ir::Output& o : g.outputs()) all.set_output(prefix + o.name, map[o.id]);
    for (const auto& [name, v] : r.values) values.emplace(prefix + name, v);
  }
  return {all.graph(), values};
}

} // namespace

TEST_CASE("every op and its gradient, compiled for the CPU, match the interpreter") {
  for (ir::DType t : {ir::DType::F32, ir::DType::F64}) {
    const auto [g, values] = op_table_graph(t);
    check_against_interpreter(g, values, t, "op table");
  }
}

TEST_CASE("random graphs compiled for the CPU match the interpreter") {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    const ir::DType t = seed % 3 == 0 ? ir::DType::F64 : ir::DType::F32;
    const RandomGraph r = random_graph(seed, t);
    check_against_interpreter(r.graph, r.values, t, "random graph seed " + std::to_string(seed) + "\n" + ir::to_text(r.graph));
  }
}

TEST_CASE("the course's networks: forward and backward through the JIT equal the interpreter") {
  for (ir::DType t : {ir::DType::F32, ir::DType::F64}) {
    SECTION("regression 1-14-10-1, tanh then sigmoid, MSE") {
      nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(), nn::Linear(10, 1)};
      Input y{{1}, "y"};
      Target c{{1}, "c"};
      const Lowered l = lower({{"loss", mse(net(y), c)}, {"F", net(y)}}, t);
      std::vector<std::string> names;
      for (const ParamSpec& p : l.params) names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 3, t);
      v.emplace("y", ir::Tensor(t, {5, 1}, {-2.5, -1.0, 0.1, 1.7, 2.9}));
      v.emplace("c", ir::Tensor(t, {5, 1}, {-0.6, -0.8, 0.1, 1.0, 0.2}));
      check_against_interpreter(g, v, t, "regression network");
    }
    SECTION("classification 2-14-10-3, cross-entropy") {
      nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(), nn::Linear(10, 3)};
      Input y{{2}, "y"};
      Labels c{3, "c"};
      const Lowered l = lower({{"loss", cross_entropy(net(y), c)}, {"acc", accuracy(net(y), c)}}, t);
      std::vector<std::string> names{"y"};
      for (const ParamSpec& p : l.params) names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 4, t);
      v.emplace("y", ir::Tensor(t, {6, 2}, {0.1, 2.0, -1.0, 0.5, 2.5, -2.2, 0.0, 0.0, 1.1, -0.3, -2.9, 2.8}));
      v.emplace("c", ir::Tensor(ir::DType::I32, {6}, {0, 1, 2, 2, 1, 0}));
      check_against_interpreter(g, v, t, "classification network");
    }
    SECTION("residual net with a dense block, least squares") {
      nn::Sequential net{nn::Linear(2, 8), nn::Residual(8), nn::Residual(8, nn::ReLU()), nn::Dense(8, 4),
                         nn::Linear(12, 2)};
      Input y{{2}, "y"};
      Target c{{2}, "c"};
      const Lowered l = lower({{"loss", least_squares(net(y), c)}}, t);
      std::vector<std::string> names;
      for (const ParamSpec& p : l.params) names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 5, t);
      v.emplace("y", ir::Tensor(t, {4, 2}, {0.3, -0.2, 1.5, 0.7, -1.1, 0.4, 2.0, -2.0}));
      v.emplace("c", ir::Tensor(t, {4, 2}, {0.5, 0.1, -0.3, 0.9, 1.2, -0.4, 0.0, 0.3}));
      check_against_interpreter(g, v, t, "residual network");
    }
  }
}

TEST_CASE("one compiled kernel serves every batch size") {
  Input y{{3}, "y"};
  Param W{{2, 3}, "W"};
  const Lowered l = lower({{"u", tanh(W * y)}, {"s", sum(tanh(W * y))}}, ir::DType::F64);
  Executable exe = Executable::compile(l.graph);
  exe.init_params(l.params, 1);
  ir::Bindings v = init_parameters(l.params, 1, ir::DType::F64);
  for (int64_t n : {1, 2, 7, 64, 300}) {
    ir::Tensor yt(ir::DType::F64, {n, 3});
    Rng rng(static_cast<uint64_t>(n));
    for (double& x : yt.data) x = rng.uniform(-1, 1);
    v["y"] = yt;
    const auto got = exe.run_tensors(v);
    const auto want = ir::interpret(ir::optimize(l.graph), v);
    INFO("batch " << n);
    CHECK(max_rel_error(got[0], want[0]) < 1e-12);
    CHECK(max_rel_error(got[1], want[1]) < 1e-12);
  }
}
