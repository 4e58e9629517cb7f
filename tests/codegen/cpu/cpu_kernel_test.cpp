// Generated CPU kernels against the reference interpreter: every op (values and gradients, f32
// and f64), random graphs, and the course's networks.

#include <catch2/catch.hpp>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "runtime/executable.h"
#include "tests/codegen/cuda/cuda_graphs.h"
#include "tests/support/check_outputs.h"
#include "tests/support/op_table.h"
#include "tests/support/random_graph.h"

using namespace kiln;
using namespace kiln::test;

namespace {

/** f32 kernels may reassociate sums, contract FMAs and use kiln's math approximations. */
double tolerance(ir::DType t) {
  return t == ir::DType::F32 ? 2e-5 : 1e-12;
}

/** Compiles `g` and checks every output against the interpreter at the same precision. */
void check_against_interpreter(const ir::Graph& g, const ir::Bindings& values, ir::DType t,
                               const std::string& what) {
  INFO(what << " (" << to_string(t) << ")");
  Executable exe = Executable::compile(g, {.name = "test"});
  check_outputs(
      exe.run_tensors(values), ir::interpret(g, values, ir::Precision::Native), g, tolerance(t),
      "kernel:\n" + exe.kernel().source.substr(exe.kernel().source.find("extern \"C\"")) + "\n");
}

/**
 * Networks whose steps take the group-by-group path (their products are too large for row
 * blocks, codegen/cpu/row_block.h), so that they can be split into units.
 */
std::vector<CourseNet> wide_nets() {
  std::vector<CourseNet> out;
  {
    nn::Sequential net{nn::Linear(1, 80), nn::Tanh(), nn::Linear(80, 72), nn::Sigmoid(),
                       nn::Linear(72, 1)};
    Input y{{1}, "y"};
    Target c{{1}, "c"};
    out.push_back({"regression 1-80-72-1", lower({{"loss", mse(net(y), c)}}), {}, {}});
  }
  {
    nn::Sequential net{nn::Linear(2, 80), nn::Tanh(), nn::Linear(80, 72), nn::Sigmoid(),
                       nn::Linear(72, 3)};
    Input y{{2}, "y"};
    Labels c{3, "c"};
    out.push_back({"classification 2-80-72-3",
                   lower({{"loss", cross_entropy(net(y), c)}, {"acc", accuracy(net(y), c)}}),
                   {},
                   {}});
  }
  for (CourseNet& n : out)
    n.params = param_names(n.lowered);
  return out;
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
    check_against_interpreter(r.graph, r.values, t,
                              "random graph seed " + std::to_string(seed) + "\n" +
                                  ir::to_text(r.graph));
  }
}

TEST_CASE("the course's networks: forward and backward through the JIT equal the interpreter") {
  for (ir::DType t : {ir::DType::F32, ir::DType::F64}) {
    SECTION("regression 1-14-10-1, tanh then sigmoid, MSE") {
      nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                         nn::Linear(10, 1)};
      Input y{{1}, "y"};
      Target c{{1}, "c"};
      const Lowered l = lower({{"loss", mse(net(y), c)}, {"F", net(y)}}, t);
      std::vector<std::string> names;
      for (const ParamSpec& p : l.params)
        names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 3, t);
      v.emplace("y", ir::Tensor(t, {5, 1}, {-2.5, -1.0, 0.1, 1.7, 2.9}));
      v.emplace("c", ir::Tensor(t, {5, 1}, {-0.6, -0.8, 0.1, 1.0, 0.2}));
      check_against_interpreter(g, v, t, "regression network");
    }
    SECTION("classification 2-14-10-3, cross-entropy") {
      nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                         nn::Linear(10, 3)};
      Input y{{2}, "y"};
      Labels c{3, "c"};
      const Lowered l =
          lower({{"loss", cross_entropy(net(y), c)}, {"acc", accuracy(net(y), c)}}, t);
      std::vector<std::string> names{"y"};
      for (const ParamSpec& p : l.params)
        names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 4, t);
      v.emplace("y", ir::Tensor(t, {6, 2},
                                {0.1, 2.0, -1.0, 0.5, 2.5, -2.2, 0.0, 0.0, 1.1, -0.3, -2.9, 2.8}));
      v.emplace("c", ir::Tensor(ir::DType::I32, {6}, {0, 1, 2, 2, 1, 0}));
      check_against_interpreter(g, v, t, "classification network");
    }
    SECTION("residual net with a dense block, least squares") {
      nn::Sequential net{nn::Linear(2, 8), nn::Residual(8), nn::Residual(8, nn::ReLU()),
                         nn::Dense(8, 4), nn::Linear(12, 2)};
      Input y{{2}, "y"};
      Target c{{2}, "c"};
      const Lowered l = lower({{"loss", least_squares(net(y), c)}}, t);
      std::vector<std::string> names;
      for (const ParamSpec& p : l.params)
        names.push_back(p.name);
      const ir::Graph g = ir::grad(l.graph, "loss", names);
      ir::Bindings v = init_parameters(l.params, 5, t);
      v.emplace("y", ir::Tensor(t, {4, 2}, {0.3, -0.2, 1.5, 0.7, -1.1, 0.4, 2.0, -2.0}));
      v.emplace("c", ir::Tensor(t, {4, 2}, {0.5, 0.1, -0.3, 0.9, 1.2, -0.4, 0.0, 0.3}));
      check_against_interpreter(g, v, t, "residual network");
    }
  }
}

TEST_CASE("a step split into translation units computes exactly what the whole one does") {
  // (The course's own steps run as row blocks, one unit: codegen/cpu/row_block.h.)
  for (const CourseNet& net : wide_nets()) {
    INFO(net.name);
    const StepGraph sg = adam_step(net.lowered);
    const codegen::EpochSpec epoch{{"y", "c"}, {"loss"}};
    const ir::Graph g = ir::optimize(sg.graph);
    const codegen::CpuKernel whole =
        codegen::render_cpu(g, {.updates = sg.updates, .epoch = epoch, .batch_hint = 5});
    const codegen::CpuKernel split = codegen::render_cpu(
        g, {.updates = sg.updates, .epoch = epoch, .batch_hint = 5, .max_units = 3});
    CHECK(whole.parts.empty());
    REQUIRE(!split.parts.empty());
    CHECK(split.name == whole.name);
    CHECK(split.parts[0].find("extern \"C\" void " + split.name + "_u1(") != std::string::npos);
    CHECK(split.source.find(split.name + "_u1(N, slots, workspace);") != std::string::npos);
    // The copy for the batch hint stays whole, in a unit of its own.
    CHECK(split.parts.back().find("extern \"C\" void " + split.name + "_fixed(") !=
          std::string::npos);
    CHECK(split.parts.back().find(split.name + "_u1") == std::string::npos);
    CHECK(split.source.find("if (N == 5) " + split.name + "_fixed(slots, workspace);") !=
          std::string::npos);
    // Both run the same steps from the same weights, at the hinted batch size and another one.
    auto compile = [&](int units) {
      return Executable::compile(sg.graph, {.name = "step",
                                            .updates = sg.updates,
                                            .epoch = epoch,
                                            .batch_hint = 5,
                                            .cpu_units = units});
    };
    Executable a = compile(1), b = compile(3);
    CHECK(a.kernel().parts.empty());
    CHECK(b.kernel().parts.size() == split.parts.size());
    for (Executable* e : {&a, &b})
      e->set_params(init_parameters(net.lowered.params, 3, ir::DType::F64));
    const ir::Type yt = sg.graph.node(*sg.graph.find_leaf(ir::Op::Input, "y")).type;
    const ir::Type ct = sg.graph.node(*sg.graph.find_leaf(ir::Op::Input, "c")).type;
    Rng rng(5);
    for (int64_t n : {5, 7, 5}) {
      MatrixRM y(n, yt.shape.static_numel()), c(n, ct.shape.static_numel());
      MatrixRM lr = MatrixRM::Constant(1, 1, 0.01f);
      Eigen::VectorXi labels(n);
      for (int64_t i = 0; i < y.size(); ++i)
        y.data()[i] = static_cast<float>(rng.uniform(-2, 2));
      Feed feed{{"y", y}, {"lr", lr}};
      if (ct.dtype == ir::DType::I32) {
        for (int64_t i = 0; i < n; ++i)
          labels(i) = static_cast<int>(rng.below(3));
        feed.emplace_back("c", labels);
      } else {
        for (int64_t i = 0; i < c.size(); ++i)
          c.data()[i] = static_cast<float>(rng.uniform(-1, 1));
        feed.emplace_back("c", c);
      }
      CHECK(a.run(feed).at("loss")(0, 0) == b.run(feed).at("loss")(0, 0));
    }
    for (const std::string& p : net.params)
      CHECK((a.param(p) - b.param(p)).cwiseAbs().maxCoeff() == 0.0f);
  }
  // A forward pass this small stays one unit whatever the cores.
  const ir::Graph fwd = ir::optimize(course_nets(ir::DType::F32)[0].lowered.graph);
  CHECK(codegen::render_cpu(fwd, {.max_units = 4}).parts.empty());
}

TEST_CASE("one compiled kernel serves every batch size") {
  Input y{{3}, "y"};
  Param W{{2, 3}, "W"};
  const Lowered l = lower({{"u", tanh(W * y)}, {"s", sum(tanh(W * y))}}, ir::DType::F64);
  Executable exe = Executable::compile(l.graph);
  exe.set_params(init_parameters(l.params, 1, ir::DType::F64));
  ir::Bindings v = init_parameters(l.params, 1, ir::DType::F64);
  for (int64_t n : {1, 2, 7, 64, 300}) {
    ir::Tensor yt(ir::DType::F64, {n, 3});
    Rng rng(static_cast<uint64_t>(n));
    for (double& x : yt.data)
      x = rng.uniform(-1, 1);
    v["y"] = yt;
    const auto got = exe.run_tensors(v);
    const auto want = ir::interpret(ir::optimize(l.graph), v);
    INFO("batch " << n);
    CHECK(max_rel_error(got[0], want[0]) < 1e-12);
    CHECK(max_rel_error(got[1], want[1]) < 1e-12);
  }
}
