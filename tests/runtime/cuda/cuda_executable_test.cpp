// Executables on a CUDA device against the reference interpreter and against the CPU: every op,
// random graphs, the course's networks under each launch plan, training steps, fused epochs and
// the Trainer. Built twice: cuda_executable_gpu_test runs it on a real GPU (WARNs and passes
// without one), cuda_executable_fake_test on the fake driver with the kernels emulated on the
// CPU (cuda_emulator.h), so it runs everywhere.

#include <catch2/catch.hpp>

#include <cmath>

#include "io/data.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "runtime/executable.h"
#include "tests/codegen/cuda/cuda_graphs.h"
#include "tests/support/check_outputs.h"
#include "tests/support/random_graph.h"
#include "tests/support/skip.h"
#include "train/problem.h"
#include "trainer/trainer.h"

using namespace kiln;
using namespace kiln::test;
using codegen::CudaPlan;
using codegen::CudaPlanChoice;

namespace kiln::test {
/** Whether this executable has a device to run on; `why` says why not (see the two mains). */
bool device_ready(std::string& why);
} // namespace kiln::test

#define KILN_REQUIRE_DEVICE()                                                                      \
  do {                                                                                             \
    std::string why_;                                                                              \
    if (!kiln::test::device_ready(why_))                                                           \
      KILN_SKIP("no GPU: " << why_);                                                               \
  } while (0)

namespace {

/** Device f32 math differs from the host's by an ulp or two per function, sums by order. */
double tolerance(ir::DType t) {
  return t == ir::DType::F32 ? 5e-5 : 1e-11;
}

const char* plan_name(CudaPlanChoice c) {
  static constexpr const char* kNames[] = {"auto", "per-group", "single block", "chunked"};
  return kNames[static_cast<int>(c)];
}

void check_on_device(const ir::Graph& g, const ir::Bindings& values, ir::DType t,
                     const std::string& what, CudaPlanChoice plans) {
  INFO(what << " (" << to_string(t) << ", " << plan_name(plans) << " plan)");
  Executable exe =
      Executable::compile(g, {.name = "test", .device = Device::cuda(0), .cuda_plans = plans});
  check_outputs(exe.run_tensors(values), ir::interpret(g, values, ir::Precision::Native), g,
                tolerance(t));
}

constexpr CudaPlanChoice kPlans[] = {CudaPlanChoice::PerGroup, CudaPlanChoice::SingleBlock,
                                     CudaPlanChoice::Chunked};

double max_param_difference(Executable& a, Executable& b) {
  double worst = 0;
  for (const std::string& p : a.param_names())
    worst = std::max(worst, static_cast<double>((a.param(p) - b.param(p)).cwiseAbs().maxCoeff()));
  return worst;
}

/** Random rows for a step's inputs y (features) and c (targets or labels). */
Feed step_feed(const Lowered& l, int64_t n, uint64_t seed, MatrixRM& y, MatrixRM& c,
               Eigen::VectorXi& labels, MatrixRM& lr) {
  Rng rng(seed);
  const ir::Graph& g = l.graph;
  const ir::Shape ys = g.node(*g.find_leaf(ir::Op::Input, "y")).type.shape;
  const ir::Type ct = g.node(*g.find_leaf(ir::Op::Input, "c")).type;
  y = MatrixRM(n, ys.static_numel());
  for (int64_t i = 0; i < y.size(); ++i)
    y.data()[i] = static_cast<float>(rng.uniform(-2, 2));
  lr = MatrixRM::Constant(1, 1, 0.01f);
  Feed feed{{"y", y}, {"lr", lr}};
  if (ct.dtype == ir::DType::I32) {
    labels.resize(n);
    for (int64_t i = 0; i < n; ++i)
      labels(i) = static_cast<int>(rng.below(3));
    feed.emplace_back("c", labels);
  } else {
    c = MatrixRM(n, ct.shape.static_numel());
    for (int64_t i = 0; i < c.size(); ++i)
      c.data()[i] = static_cast<float>(rng.uniform(-1, 1));
    feed.emplace_back("c", c);
  }
  return feed;
}

/** Three training steps at batch n on the device and on the CPU end with the same params. */
void steps_match_cpu(const Lowered& l, int64_t n, CudaPlanChoice plans, CudaPlan::Kind expect) {
  INFO("batch " << n << ", " << plan_name(plans) << " plan");
  const StepGraph sg = adam_step(l);
  Executable cpu = Executable::compile(sg.graph, {.name = "step", .updates = sg.updates});
  Executable gpu = Executable::compile(
      sg.graph,
      {.name = "step", .updates = sg.updates, .device = Device::cuda(0), .cuda_plans = plans});
  CHECK(gpu.cuda_plan(n).kind == expect);
  for (Executable* e : {&cpu, &gpu})
    e->set_params(init_parameters(l.params, 7, ir::DType::F64));
  for (uint64_t s = 0; s < 3; ++s) {
    MatrixRM y, c, lr;
    Eigen::VectorXi labels;
    const Feed feed = step_feed(l, n, s, y, c, labels, lr);
    const auto a = cpu.run(feed), b = gpu.run(feed);
    CHECK(std::abs(a.at("loss")(0, 0) - b.at("loss")(0, 0)) <=
          1e-4 * (1 + std::abs(a.at("loss")(0, 0))));
  }
  CHECK(max_param_difference(cpu, gpu) <= 1e-4);
}

} // namespace

TEST_CASE("every op and its gradient on the device match the interpreter") {
  KILN_REQUIRE_DEVICE();
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (CudaPlanChoice plans : {CudaPlanChoice::PerGroup, CudaPlanChoice::SingleBlock}) {
      const auto [g, values] = op_table_graph(t);
      check_on_device(g, values, t, "op table", plans);
    }
}

TEST_CASE("random graphs on the device match the interpreter") {
  KILN_REQUIRE_DEVICE();
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    const ir::DType t = seed % 3 == 0 ? ir::DType::F64 : ir::DType::F32;
    const RandomGraph r = random_graph(seed, t);
    for (CudaPlanChoice plans : kPlans)
      check_on_device(r.graph, r.values, t,
                      "random graph seed " + std::to_string(seed) + "\n" + ir::to_text(r.graph),
                      plans);
  }
}

TEST_CASE("the course's networks, forward and backward, on the device match the interpreter") {
  KILN_REQUIRE_DEVICE();
  for (ir::DType t : {ir::DType::F32, ir::DType::F64})
    for (const CourseNet& n : course_nets(t)) {
      ir::Bindings v = init_parameters(n.lowered.params, 3, t);
      for (const auto& [name, value] : n.data)
        v.emplace(name, value);
      const ir::Graph g = ir::grad(n.lowered.graph, "loss", n.params);
      for (CudaPlanChoice plans : kPlans)
        check_on_device(g, v, t, n.name, plans);
    }
}

TEST_CASE("a small CNN (convolutions, max pooling, dropout), forward and backward, on the device "
          "and on the CPU match the interpreter") {
  KILN_REQUIRE_DEVICE();
  for (ir::DType t : {ir::DType::F32, ir::DType::F64}) {
    const CourseNet n = small_cnn(t);
    ir::Bindings v = init_parameters(n.lowered.params, 3, t);
    for (const auto& [name, value] : n.data)
      v.emplace(name, value);
    const ir::Graph g = ir::grad(n.lowered.graph, "loss", n.params);
    int dropouts = 0;
    for (ir::NodeId i = 0; i < g.size(); ++i)
      dropouts += g.node(i).op == ir::Op::Dropout;
    CHECK(dropouts >= 2); // the mask forward and backward
    for (CudaPlanChoice plans : {CudaPlanChoice::PerGroup, CudaPlanChoice::Auto})
      check_on_device(g, v, t, n.name, plans);
    // The same dropout mask on the CPU: both sides equal the interpreter.
    Executable cpu = Executable::compile(g, {.name = "test"});
    check_outputs(cpu.run_tensors(v), ir::interpret(g, v, ir::Precision::Native), g, tolerance(t),
                  "CPU ");
  }
}

TEST_CASE("fast math stays within the approximations' error") {
  KILN_REQUIRE_DEVICE();
  for (const CourseNet& n : course_nets(ir::DType::F32)) {
    INFO(n.name);
    ir::Bindings v = init_parameters(n.lowered.params, 3, ir::DType::F32);
    for (const auto& [name, value] : n.data)
      v.emplace(name, value);
    const ir::Graph g = ir::grad(n.lowered.graph, "loss", n.params);
    Executable exe = Executable::compile(g, {.device = Device::cuda(0), .fast_math = true});
    check_outputs(exe.run_tensors(v), ir::interpret(g, v), g, 2e-3);
  }
}

TEST_CASE("one device executable serves every batch size, switching plans") {
  KILN_REQUIRE_DEVICE();
  const CourseNet net = course_nets(ir::DType::F32)[0];
  const ir::Graph g = ir::grad(net.lowered.graph, "loss", net.params);
  Executable exe = Executable::compile(g, {.device = Device::cuda(0)});
  ir::Bindings v = init_parameters(net.lowered.params, 1, ir::DType::F32);
  bool single = false, chunked = false;
  for (int64_t n : {1, 2, 7, 64, 300, 1000}) {
    INFO("batch " << n);
    single = single || exe.cuda_plan(n).kind == CudaPlan::Kind::SingleBlock;
    chunked = chunked || exe.cuda_plan(n).kind == CudaPlan::Kind::Chunked;
    for (const char* name : {"y", "c"}) {
      ir::Tensor x(ir::DType::F32, {n, 1});
      Rng rng(static_cast<uint64_t>(n) + name[0]);
      for (double& e : x.data)
        e = rng.uniform(-2, 2);
      v[name] = x;
    }
    const auto got = exe.run_tensors(v);
    const auto want = ir::interpret(g, v);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) // strictly below (check_outputs allows equal)
      CHECK(max_rel_error(got[i], want[i]) < tolerance(ir::DType::F32));
  }
  CHECK(single);
  CHECK(chunked);
}

TEST_CASE("training steps on the device update params as on the CPU") {
  KILN_REQUIRE_DEVICE();
  for (const CourseNet& n : course_nets(ir::DType::F32)) {
    INFO(n.name);
    steps_match_cpu(n.lowered, 5, CudaPlanChoice::Auto, CudaPlan::Kind::SingleBlock);
    steps_match_cpu(n.lowered, 5, CudaPlanChoice::PerGroup, CudaPlan::Kind::PerGroup);
    steps_match_cpu(n.lowered, 150, CudaPlanChoice::Chunked, CudaPlan::Kind::Chunked);
  }
}

TEST_CASE("the fully fused MLP step: chunks of rows across blocks, partial sums, then the update") {
  KILN_REQUIRE_DEVICE();
  const Lowered mlp = relu_mlp(32, 64, 4, 16);
  steps_match_cpu(mlp, 5, CudaPlanChoice::Auto, CudaPlan::Kind::SingleBlock);
  // 200 rows: 13 chunks of 16, over 13 blocks, the last one partial.
  steps_match_cpu(mlp, 200, CudaPlanChoice::Auto, CudaPlan::Kind::Chunked);
}

TEST_CASE("the fused MLP step on TF32 tensor cores matches the CPU to TF32 precision") {
  KILN_REQUIRE_DEVICE();
  // 40 and 24 wide: tiles padded in both directions; 100 rows: chunks of 64 and a partial one.
  // Plain SGD: Adam's first steps move every weight by +-lr whatever the gradient's size, so a
  // gradient near zero whose sign TF32 flips would hide how close the rest is.
  const Lowered mlp = relu_mlp(20, 40, 3, 24);
  const StepGraph sg = build_step(mlp.graph, optim::SGD(0.05), param_names(mlp));
  Executable cpu = Executable::compile(sg.graph, {.name = "step", .updates = sg.updates});
  Executable gpu = Executable::compile(sg.graph, {.name = "step",
                                                  .updates = sg.updates,
                                                  .device = Device::cuda(0),
                                                  .tf32 = true,
                                                  .cuda_plans = CudaPlanChoice::Chunked});
  const int64_t n = 100;
  REQUIRE(gpu.cuda_plan(n).kind == CudaPlan::Kind::Chunked);
  CHECK(gpu.cuda_plan(n).summary.find("products on TF32 tensor cores") != std::string::npos);
  for (Executable* e : {&cpu, &gpu})
    e->set_params(init_parameters(mlp.params, 3, ir::DType::F64));
  double worst = 0;
  for (uint64_t s = 0; s < 3; ++s) {
    MatrixRM y, c, lr;
    Eigen::VectorXi labels;
    const Feed feed = step_feed(mlp, n, s, y, c, labels, lr);
    const double a = cpu.run(feed).at("loss")(0, 0), b = gpu.run(feed).at("loss")(0, 0);
    INFO("step " << s << ": loss " << a << " on the CPU, " << b << " in TF32");
    // Inputs rounded to 11 significant bits: ~1e-3 relative per product, less in the sums.
    CHECK(std::abs(a - b) <= 5e-3 * std::abs(a));
    worst = std::max(worst, std::abs(a - b) / std::abs(a));
  }
  // Not the f32 path in disguise: TF32 rounding shows in the loss.
  CHECK(worst > 1e-6);
  CHECK(max_param_difference(cpu, gpu) <= 1e-4);
}

TEST_CASE("the fused epoch on the device runs the same steps as the CPU's") {
  KILN_REQUIRE_DEVICE();
  for (const CourseNet& n : course_nets(ir::DType::F32)) {
    if (n.name.find("residual") != std::string::npos)
      continue; // no labels-vs-targets variety to add
    INFO(n.name);
    const StepGraph sg = adam_step(n.lowered);
    const bool labels = n.name.find("classification") != std::string::npos;
    codegen::EpochSpec spec{{"y", "c"}, {"loss"}};
    if (labels)
      spec.metrics.push_back("acc");
    Executable cpu =
        Executable::compile(sg.graph, {.name = "step", .updates = sg.updates, .epoch = spec});
    Executable gpu = Executable::compile(
        sg.graph,
        {.name = "step", .updates = sg.updates, .epoch = spec, .device = Device::cuda(0)});
    REQUIRE(!gpu.cuda_kernel().epoch_kernel.empty());
    for (Executable* e : {&cpu, &gpu})
      e->set_params(init_parameters(n.lowered.params, 11, ir::DType::F64));
    MatrixRM y, c, lr;
    Eigen::VectorXi l;
    step_feed(n.lowered, 37, 5, y, c, l, lr);
    const void* targets =
        labels ? static_cast<const void*>(l.data()) : static_cast<const void*>(c.data());
    for (uint64_t epoch = 0; epoch < 2; ++epoch) {
      const auto a = cpu.run_epoch(37, 5, true, epoch, {y.data(), targets}, {{"lr", lr}});
      const auto b = gpu.run_epoch(37, 5, true, epoch, {y.data(), targets}, {{"lr", lr}});
      REQUIRE(a.size() == b.size());
      for (size_t m = 0; m < a.size(); ++m)
        CHECK(b[m] == Approx(a[m]).epsilon(1e-4));
    }
    CHECK(max_param_difference(cpu, gpu) <= 1e-4);
    // A batch too large for one block runs the epoch as a host loop of steps, same shuffle.
    Executable cpu2 =
        Executable::compile(sg.graph, {.name = "step", .updates = sg.updates, .epoch = spec});
    Executable gpu2 = Executable::compile(
        sg.graph,
        {.name = "step", .updates = sg.updates, .epoch = spec, .device = Device::cuda(0)});
    for (Executable* e : {&cpu2, &gpu2})
      e->set_params(init_parameters(n.lowered.params, 11, ir::DType::F64));
    const int64_t big = gpu2.cuda_kernel().epoch_max_batch + 1;
    MatrixRM y2, c2;
    Eigen::VectorXi l2;
    step_feed(n.lowered, 2 * big, 6, y2, c2, l2, lr);
    const void* t2 =
        labels ? static_cast<const void*>(l2.data()) : static_cast<const void*>(c2.data());
    const auto a = cpu2.run_epoch(2 * big, big, true, 3, {y2.data(), t2}, {{"lr", lr}});
    const auto b = gpu2.run_epoch(2 * big, big, true, 3, {y2.data(), t2}, {{"lr", lr}});
    for (size_t m = 0; m < a.size(); ++m)
      CHECK(b[m] == Approx(a[m]).epsilon(1e-4));
    CHECK(max_param_difference(cpu2, gpu2) <= 1e-4);
  }
}

TEST_CASE("training the course's networks on the device reaches the CPU's accuracy") {
  KILN_REQUIRE_DEVICE();
  SECTION("regression 1-14-10-1, MSE, Adam, batch 5") {
    auto f = [](double x) { return std::sin(x); };
    const data::Dataset train = data::regression_1d(f, -3, 3, 300, 0.2, 3);
    const data::Dataset val = data::regression_1d(f, -3, 3, 200, 0.2, 4);
    double loss[2] = {0, 0};
    for (int d = 0; d < 2; ++d) {
      nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                         nn::Linear(10, 1)};
      Trainer t(net, Loss::mse(), std::make_shared<optim::Adam>(1e-2));
      const History h = t.fit(train, &val,
                              {.epochs = 12,
                               .batch_size = 5,
                               .seed = 1,
                               .progress = false,
                               .device = d == 0 ? Device::cpu() : Device::cuda(0)});
      loss[d] = h.epochs.back().val_loss;
    }
    CHECK(loss[1] < 0.08); // the noise floor is 0.04
    CHECK(loss[1] == Approx(loss[0]).epsilon(0.05));
  }
  SECTION("classification 2-14-10-3, cross-entropy, Adam, batch 5") {
    const data::Dataset all =
        data::level_set_2d([](double a, double b) { return a * a + b * b; }, {}, 600);
    std::vector<int> first, rest;
    for (int i = 0; i < all.rows(); ++i)
      (i % 4 == 0 ? rest : first).push_back(i);
    const data::Dataset train = all.subset(first), val = all.subset(rest);
    double acc[2] = {0, 0};
    for (int d = 0; d < 2; ++d) {
      nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                         nn::Linear(10, 3)};
      Trainer t(net, Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
      const History h = t.fit(train, &val,
                              {.epochs = 8,
                               .batch_size = 5,
                               .seed = 2,
                               .progress = false,
                               .device = d == 0 ? Device::cpu() : Device::cuda(0)});
      acc[d] = h.epochs.back().val_acc;
    }
    CHECK(acc[1] > 0.8);
    CHECK(std::abs(acc[1] - acc[0]) <= 0.03);
  }
}

TEST_CASE("a physics-informed step on the device: point sets of 24 and 8 rows, u_t and u_xx") {
  KILN_REQUIRE_DEVICE();
  // The heat problem's step (kiln_bench W6) at a size the emulator runs in a moment: input
  // derivatives by forward mode, their weight gradients, two point sets, Adam, one kernel call.
  nn::Sequential net{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 8), nn::Tanh(), nn::Linear(8, 1)};
  Points interior(24, {2}, "interior"), boundary(8, {2}, "boundary");
  const Expr u = net(interior), x = column(interior, 0), t = column(interior, 1);
  train::Problem p;
  p.terms.push_back({"residual", mean(square(d(u, interior, 1) - d2(u, interior, 0) -
                                             mul(exp(-t), sin(3.0 * x))))});
  p.terms.push_back({"boundary", 4.0 * mean(square(net(boundary)))});
  p.optimizer = std::make_shared<optim::Adam>(1e-2);
  const train::ProblemGraphs g = train::build(p);
  Executable cpu = Executable::compile(g.step->graph, {.name = "pinn", .updates = g.step->updates});
  Executable gpu = Executable::compile(
      g.step->graph, {.name = "pinn", .updates = g.step->updates, .device = Device::cuda(0)});
  for (Executable* e : {&cpu, &gpu})
    e->set_params(init_parameters(g.params, 5, ir::DType::F64));
  MatrixRM xi(24, 2), xb(8, 2);
  for (int i = 0; i < 24; ++i)
    xi.row(i) << std::sin(1.7 * i), 0.4 * (i % 7);
  for (int i = 0; i < 8; ++i)
    xb.row(i) << (i % 2 ? 1.0f : -1.0f), 0.3 * i;
  const MatrixRM lr = MatrixRM::Constant(1, 1, 1e-2f);
  const Feed feed = {{"interior", xi}, {"boundary", xb}, {"lr", lr}};
  for (int s = 0; s < 4; ++s) {
    const auto a = cpu.run(feed), b = gpu.run(feed);
    for (const char* out : {"loss", "loss:residual", "loss:boundary"}) {
      INFO("step " << s << ", " << out << ": " << a.at(out)(0, 0) << " on the CPU, "
                   << b.at(out)(0, 0) << " on the device");
      CHECK(std::abs(a.at(out)(0, 0) - b.at(out)(0, 0)) <= 1e-4 * (1 + std::abs(a.at(out)(0, 0))));
    }
  }
  CHECK(max_param_difference(cpu, gpu) <= 1e-4);
}
