// The row-block path for small steps (codegen/cpu/row_block.h) against the reference
// interpreter: the course's training steps at several batch sizes (blocks split in every way),
// training runs that follow the interpreter's loss curve, and the choice between row blocks and
// the group-by-group path.

#include <array>

#include <catch2/catch.hpp>

#include "codegen/cpu/row_block_util.h"
#include "codegen/phases.h"
#include "frontend/kiln.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "runtime/executable.h"
#include "tests/codegen/cuda/cuda_graphs.h"
#include "tests/support/check_outputs.h"
#include "tests/support/random_graph.h"

using namespace kiln;
using namespace kiln::test;

namespace {

bool row_blocks(const codegen::CpuKernel& k) {
  return k.row_block > 0;
}

/** Every translation unit of `k`: a split step keeps its weight copies in the second. */
std::string all_units(const codegen::CpuKernel& k) {
  std::string text = k.source;
  for (const std::string& part : k.parts)
    text += part;
  return text;
}

/** Random values for every input and param of `g` at batch size n (labels below `classes`). */
ir::Bindings random_values(const ir::Graph& g, int64_t n, uint64_t seed, int64_t classes = 3) {
  Rng rng(seed);
  ir::Bindings v;
  for (ir::Op op : {ir::Op::Input, ir::Op::Param})
    for (ir::NodeId id : g.leaves(op)) {
      const ir::Node& node = g.node(id);
      ir::Tensor t(node.type.dtype, node.type.shape.concrete(n));
      for (double& x : t.data)
        x = node.type.dtype == ir::DType::I32 ? static_cast<double>(rng.below(3) % classes)
                                              : rng.uniform(-1, 1);
      if (node.name().ends_with("exp_avg_sq"))
        for (double& x : t.data)
          x = x * x; // a second moment is not negative
      if (node.name() == "step")
        t.data[0] = 3;
      if (node.name() == "lr")
        t.data[0] = 0.01;
      v.emplace(node.name(), std::move(t));
    }
  return v;
}

double tolerance(ir::DType t) {
  return t == ir::DType::F32 ? 3e-5 : 1e-12;
}

/** Runs `exe` (compiled from `g`) on `v` and checks every output against the interpreter's. */
void check_outputs(Executable& exe, const ir::Graph& g, const ir::Bindings& v, ir::DType t) {
  test::check_outputs(exe.run_tensors(v), ir::interpret(g, v, ir::Precision::Native), g,
                      tolerance(t));
}

/** A net of widths 3-80-80-2: its products are too large for row blocks. */
Lowered wide_net(ir::DType t) {
  nn::Sequential net{nn::Linear(3, 80), nn::Tanh(), nn::Linear(80, 80), nn::Tanh(),
                     nn::Linear(80, 2)};
  Input y{{3}, "y"};
  Target c{{2}, "c"};
  return lower({{"loss", mse(net(y), c)}}, t);
}

} // namespace

TEST_CASE("the course's training steps run as row blocks and match the interpreter") {
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const CourseNet& net : course_nets(t)) {
      // No in-place updates, so that every new weight and moment is an output to compare.
      const StepGraph sg = adam_step(net.lowered);
      for (std::optional<int64_t> hint : {std::optional<int64_t>(5), std::optional<int64_t>()}) {
        Executable exe =
            Executable::compile(sg.graph, {.optimize = false, .name = "step", .batch_hint = hint});
        INFO(net.name << " (" << to_string(t) << "), batch hint "
                      << (hint ? std::to_string(*hint) : "none"));
        REQUIRE(row_blocks(exe.kernel()));
        for (int64_t n : {1, 4, 5, 7, 13, 37}) {
          INFO("batch " << n);
          check_outputs(exe, sg.graph, random_values(sg.graph, n, static_cast<uint64_t>(n) + 11),
                        t);
        }
      }
    }
}

TEST_CASE("training through row blocks follows the interpreter's loss curve") {
  for (ir::DType t : {ir::DType::F64, ir::DType::F32})
    for (const CourseNet& net : course_nets(t)) {
      INFO(net.name << " (" << to_string(t) << ")");
      const StepGraph sg = adam_step(net.lowered, 5e-2);
      Executable exe = Executable::compile(
          sg.graph, {.optimize = false, .name = "step", .updates = sg.updates, .batch_hint = 5});
      REQUIRE(row_blocks(exe.kernel()));
      // The interpreter's copy of the weights and state, advanced by the update outputs.
      ir::Bindings state = random_values(sg.graph, 5, 1);
      for (const auto& [name, init] : sg.state)
        for (double& x : state.at(name).data)
          x = init;
      exe.set_params(state);
      for (int step = 0; step < 30; ++step) {
        const int64_t n = step % 4 == 3 ? 3 : 5; // now and then a short batch
        ir::Bindings v = random_values(sg.graph, n, 100 + static_cast<uint64_t>(step));
        for (auto& [name, x] : v)
          if (sg.graph.find_leaf(ir::Op::Param, name))
            x = state.at(name);
        const std::vector<ir::Tensor> want = ir::interpret(sg.graph, v, ir::Precision::Native);
        ir::Bindings inputs;
        for (ir::NodeId id : sg.graph.leaves(ir::Op::Input))
          inputs.emplace(sg.graph.node(id).name(), v.at(sg.graph.node(id).name()));
        const std::vector<ir::Tensor> got = exe.run_tensors(inputs);
        size_t loss = 0, got_loss = 0;
        for (size_t i = 0; i < sg.graph.outputs().size(); ++i)
          if (sg.graph.outputs()[i].name == "loss")
            loss = i;
        const std::vector<std::string> names = exe.output_names();
        for (size_t i = 0; i < names.size(); ++i)
          if (names[i] == "loss")
            got_loss = i;
        INFO("step " << step);
        CHECK(std::abs(got[got_loss].data[0] - want[loss].data[0]) <=
              (t == ir::DType::F32 ? 1e-4 : 1e-10) * (1 + std::abs(want[loss].data[0])));
        for (const codegen::Update& u : sg.updates)
          for (size_t i = 0; i < sg.graph.outputs().size(); ++i)
            if (sg.graph.outputs()[i].name == u.output)
              state.at(u.param) = want[i];
      }
      for (const std::string& p : net.params) {
        const MatrixRM got = exe.param(p);
        const ir::Tensor& want = state.at(p);
        double worst = 0;
        for (int64_t i = 0; i < got.size(); ++i)
          worst = std::max(worst, std::abs(got.data()[i] - want.data[static_cast<size_t>(i)]));
        INFO("param " << p);
        CHECK(worst <= 1e-4); // param() reads as float, even from f64
      }
    }
}

TEST_CASE("updates whose rows are not whole vectors run as one loop over their elements") {
  // 2-14-10-3: the [10,14], [3,10] and [14,2] weights' updates (rows of 14, 10 and 2 floats, the
  // last from partial sums kept transposed) run flat; the bias updates have one dim already.
  const CourseNet net = course_nets(ir::DType::F32)[1];
  const StepGraph sg = adam_step(net.lowered);
  const codegen::CpuKernel k =
      codegen::render_cpu(sg.graph, {.updates = sg.updates, .batch_hint = 5});
  REQUIRE(row_blocks(k));
  const codegen::Schedule& sc = k.schedule;
  const std::vector<codegen::Phase> phase = *codegen::row_phases(sc);
  std::vector<std::vector<int64_t>> flat, not_flat;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi)
    if (phase[gi] == codegen::Phase::Reduce)
      (codegen::row_block::flat_result(sc, sc.groups[gi]) ? flat : not_flat)
          .push_back(sc.groups[gi].domain.dims());
  std::sort(flat.begin(), flat.end());
  CHECK(flat == std::vector<std::vector<int64_t>>{{3, 10}, {10, 14}, {14, 2}});
  for (const std::vector<int64_t>& d : not_flat)
    CHECK(d.size() <= 1);
  // Rows of whole vectors (16 floats) gain nothing from a flat loop.
  Input y{{16}, "y"};
  Target c{{16}, "c"};
  nn::Sequential wide{nn::Linear(16, 32), nn::Tanh(), nn::Linear(32, 16)};
  const StepGraph ws = adam_step(lower({{"loss", mse(wide(y), c)}}));
  const codegen::CpuKernel wk =
      codegen::render_cpu(ws.graph, {.updates = ws.updates, .batch_hint = 5});
  REQUIRE(row_blocks(wk));
  for (const codegen::Group& grp : wk.schedule.groups)
    CHECK_FALSE(codegen::row_block::flat_result(wk.schedule, grp));
}

TEST_CASE("large products take the group-by-group path with its blocked GEMM") {
  const StepGraph sg = adam_step(wide_net(ir::DType::F32));
  CHECK_FALSE(row_blocks(codegen::render_cpu(sg.graph, {.updates = sg.updates, .batch_hint = 5})));
  // The course's step does take row blocks, at any batch hint, and its evaluation too.
  const CourseNet net = course_nets(ir::DType::F32)[0];
  const StepGraph small = adam_step(net.lowered);
  for (std::optional<int64_t> hint :
       {std::optional<int64_t>(5), std::optional<int64_t>(64), std::optional<int64_t>()})
    CHECK(row_blocks(
        codegen::render_cpu(small.graph, {.updates = small.updates, .batch_hint = hint})));
  CHECK(row_blocks(codegen::render_cpu(ir::optimize(net.lowered.graph))));
}

TEST_CASE("random graphs that take row blocks match the interpreter") {
  int taken = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const ir::DType t = seed % 3 == 0 ? ir::DType::F64 : ir::DType::F32;
    const RandomGraph r = random_graph(seed, t);
    const ir::Graph g = ir::optimize(r.graph);
    if (!row_blocks(codegen::render_cpu(g)))
      continue;
    ++taken;
    INFO("random graph seed " << seed);
    Executable exe = Executable::compile(g, {.optimize = false, .name = "test"});
    check_outputs(exe, g, r.values, t);
  }
  CHECK(taken >= 5);
}

TEST_CASE("evaluation kernels copy transposed weights by loops and match the interpreter") {
  // A training step copies W^T on every call of a few rows, through the shuffle network (one
  // column: one vector copy); a kernel without updates or batch size runs over data sets and
  // uses loops, which compile in a fraction of the time.
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const CourseNet& net : course_nets(t)) {
      INFO(net.name << " (" << to_string(t) << ")");
      const StepGraph sg = adam_step(net.lowered);
      const codegen::CpuKernel step =
          codegen::render_cpu(sg.graph, {.updates = sg.updates, .batch_hint = 5});
      REQUIRE(row_blocks(step));
      CHECK(step.source.find("transposed in blocks") != std::string::npos);
      const ir::Graph eval = ir::optimize(net.lowered.graph);
      REQUIRE(row_blocks(codegen::render_cpu(eval)));
      CHECK(codegen::render_cpu(eval).source.find("transposed in blocks") == std::string::npos);
      // Compiled for a batch size (a data-parallel rank's gradients), it runs once per batch.
      CHECK(codegen::render_cpu(eval, {.batch_hint = 5}).source.find("transposed in blocks") !=
            std::string::npos);
      Executable exe = Executable::compile(eval, {.optimize = false, .name = "eval"});
      for (int64_t n : {1, 5, 13, 37}) {
        INFO("batch " << n);
        check_outputs(exe, eval, random_values(eval, n, static_cast<uint64_t>(n) + 3), t);
      }
    }
}

TEST_CASE("thin products sum their columns' dot products together and match the interpreter") {
  // 2 to 4 output columns over a depth of one vector (16 floats, 8 doubles) run as one vector
  // product per column, summed by one tree of shuffles; wider or deeper ones do not.
  struct Case {
    int64_t in, hidden, out;
    bool thin_f32, thin_f64;
  };
  const std::vector<Case> cases = {{2, 10, 4, true, false},
                                   {3, 16, 2, true, false},
                                   {2, 6, 3, true, true},
                                   {2, 8, 1, false, false},
                                   {2, 20, 3, false, false}};
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const Case& c : cases) {
      INFO(c.in << "-" << c.hidden << "-" << c.out << " (" << to_string(t) << ")");
      nn::Sequential net{nn::Linear(c.in, c.hidden), nn::Sigmoid(), nn::Linear(c.hidden, c.out)};
      Input y{{c.in}, "y"};
      Target z{{c.out}, "z"};
      const StepGraph sg = adam_step(lower({{"loss", mse(net(y), z)}}, t));
      Executable exe =
          Executable::compile(sg.graph, {.optimize = false, .name = "step", .batch_hint = 5});
      REQUIRE(row_blocks(exe.kernel()));
      CHECK((all_units(exe.kernel()).find("weight rows of") != std::string::npos) ==
            (t == ir::DType::F32 ? c.thin_f32 : c.thin_f64));
      for (int64_t n : {1, 5, 7}) {
        INFO("batch " << n);
        check_outputs(exe, sg.graph, random_values(sg.graph, n, static_cast<uint64_t>(n) + 9), t);
      }
    }
}

TEST_CASE("a step's transposed weights of any shape match the interpreter") {
  // W^T is cut from the weights' whole vectors: two columns take every other lane, other widths
  // go through the 16 x 16 (8 x 8) network, blocks of rows and columns past one vector included.
  const std::vector<std::array<int64_t, 3>> widths = {{2, 20, 3}, {17, 33, 2}, {3, 7, 1}};
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const auto& [a, b, c] : widths) {
      INFO(a << "-" << b << "-" << c << " (" << to_string(t) << ")");
      nn::Sequential net{nn::Linear(a, b), nn::Tanh(), nn::Linear(b, c)};
      Input y{{a}, "y"};
      Target z{{c}, "z"};
      const StepGraph sg = adam_step(lower({{"loss", mse(net(y), z)}}, t));
      Executable exe =
          Executable::compile(sg.graph, {.optimize = false, .name = "step", .batch_hint = 5});
      REQUIRE(row_blocks(exe.kernel()));
      if (a != 3) // 3-7-1's products run without a copy of W^T
        CHECK(all_units(exe.kernel()).find(a == 2 ? "two columns" : "transposed in blocks") !=
              std::string::npos);
      for (int64_t n : {5, 7}) {
        INFO("batch " << n);
        check_outputs(exe, sg.graph, random_values(sg.graph, n, static_cast<uint64_t>(n) + 5), t);
      }
    }
}

TEST_CASE("a row-block step split in two units matches the interpreter and the whole step") {
  // With two units, what runs before the loop over rows (Pre groups, weight copies) and after it
  // (the results, with the Pre groups nothing before them reads) compiles in a second unit,
  // under clang's -O2 while the loop's unit takes the short pipeline; the step is the same.
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const CourseNet& net : course_nets(t)) {
      INFO(net.name << " (" << to_string(t) << ")");
      const StepGraph sg = adam_step(net.lowered);
      for (std::optional<int64_t> hint : {std::optional<int64_t>(5), std::optional<int64_t>()}) {
        INFO("batch hint " << (hint ? std::to_string(*hint) : "none"));
        Executable whole = Executable::compile(
            sg.graph, {.optimize = false, .name = "whole", .batch_hint = hint, .cpu_units = 1});
        Executable split = Executable::compile(
            sg.graph, {.optimize = false, .name = "split", .batch_hint = hint, .cpu_units = 2});
        REQUIRE(row_blocks(split.kernel()));
        CHECK(whole.kernel().parts.empty());
        CHECK_FALSE(whole.kernel().vectorizer_only);
        REQUIRE(split.kernel().parts.size() == 1);
        CHECK(split.kernel().vectorizer_only);
        const std::string& part = split.kernel().parts[0];
        for (const char* fn : {"kiln_before_", "kiln_results_"}) {
          CHECK(split.kernel().source.find(fn) != std::string::npos);
          CHECK(part.find(std::string("extern \"C\" void ") + fn) != std::string::npos);
        }
        // A step for mini-batches (a batch hint) runs each block of rows as a call of its own
        // in the loop's unit; the whole step keeps the loop's body inline.
        CHECK((split.kernel().source.find("static void kiln_row_block(") != std::string::npos) ==
              hint.has_value());
        CHECK(whole.kernel().source.find("kiln_row_block") == std::string::npos);
        // The optimizer's bias corrections (kiln_pow) run after the loop, in the second unit.
        CHECK(split.kernel().source.find("= kiln_pow(") == std::string::npos);
        CHECK(part.find("= kiln_pow(") != std::string::npos);
        for (int64_t n : {1, 5, 8, 13}) {
          INFO("batch " << n);
          const ir::Bindings v = random_values(sg.graph, n, static_cast<uint64_t>(n) + 17);
          check_outputs(split, sg.graph, v, t);
          test::check_outputs(split.run_tensors(v), whole.run_tensors(v), sg.graph, tolerance(t));
        }
      }
    }
}
