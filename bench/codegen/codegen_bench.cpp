// Issue 3's measurements: cold compile and cached load of the course's regression training
// step, and per-call time of forward+backward for the course's networks at batch 5 and 1024.
//
//   build/bench/codegen/codegen_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <filesystem>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/passes.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/executable.h"
#include "runtime/kernel_cache.h"
#include "train/step.h"

using namespace kiln;

namespace {

struct Net {
  Lowered lowered;
  std::vector<std::string> params;
};

/** The course's regression (1-14-10-1, MSE) or classification (2-14-10-3, cross-entropy) net. */
Net course_net(bool classification) {
  nn::Sequential net = classification
                           ? nn::Sequential{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10),
                                            nn::Sigmoid(), nn::Linear(10, 3)}
                           : nn::Sequential{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10),
                                            nn::Sigmoid(), nn::Linear(10, 1)};
  Input y{{classification ? 2 : 1}, "y"};
  Net n;
  if (classification)
    n.lowered = lower({{"loss", cross_entropy(net(y), Labels(3, "c"))}});
  else
    n.lowered = lower({{"loss", mse(net(y), Target{{1}, "c"})}});
  for (const ParamSpec& p : n.lowered.params)
    n.params.push_back(p.name);
  return n;
}

std::filesystem::path fresh_dir() {
  static std::atomic<int> k{0};
  auto d = std::filesystem::temp_directory_path() /
           ("kiln-bench-cache-" + std::to_string(::getpid()) + "-" + std::to_string(k++));
  std::filesystem::remove_all(d);
  return d;
}

const StepGraph& regression_step() {
  static const StepGraph sg = [] {
    const Net n = course_net(false);
    return build_step(n.lowered.graph, optim::Adam(1e-3), n.params);
  }();
  return sg;
}

} // namespace

/** Graph to callable with an empty kernel cache: passes, codegen, clang, LLVM, link. */
static void BM_CompileCold_RegressionStep(benchmark::State& state) {
  const StepGraph& sg = regression_step();
  for (auto _ : state) {
    state.PauseTiming();
    runtime::KernelCache cache(fresh_dir());
    state.ResumeTiming();
    Executable exe =
        Executable::compile(sg.graph, {.name = "step",
                                       .cache = &cache,
                                       .updates = sg.updates,
                                       .epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}}});
    benchmark::DoNotOptimize(exe.kernel().name.data());
    state.PauseTiming();
    std::filesystem::remove_all(cache.dir());
    state.ResumeTiming();
  }
  state.SetLabel("1-14-10-1 MSE + Adam, step and fused epoch");
}
BENCHMARK(BM_CompileCold_RegressionStep)->Unit(benchmark::kMillisecond)->Iterations(10);

/** The same with a warm cache: no clang at all, the object file is loaded and linked. */
static void BM_LoadWarm_RegressionStep(benchmark::State& state) {
  const StepGraph& sg = regression_step();
  runtime::KernelCache cache(fresh_dir());
  const CompileOptions o{.name = "step",
                         .cache = &cache,
                         .updates = sg.updates,
                         .epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}}};
  { Executable warmup = Executable::compile(sg.graph, o); }
  for (auto _ : state) {
    Executable exe = Executable::compile(sg.graph, o);
    if (!exe.from_cache())
      state.SkipWithError("the kernel was not loaded from the cache");
  }
  std::filesystem::remove_all(cache.dir());
  state.SetLabel("includes graph passes and codegen (~all of it the source hash)");
}
BENCHMARK(BM_LoadWarm_RegressionStep)->Unit(benchmark::kMillisecond);

/** Only the cache lookup and link (the JIT's part of a warm load). */
static void BM_JitCacheLoad_RegressionStep(benchmark::State& state) {
  const StepGraph& sg = regression_step();
  const codegen::CpuKernel k = codegen::render_cpu(
      sg.graph, {.updates = sg.updates, .epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}}});
  runtime::KernelCache cache(fresh_dir());
  runtime::CpuJit::instance().compile(k.source, {.name = k.name}, &cache);
  for (auto _ : state)
    benchmark::DoNotOptimize(
        runtime::CpuJit::instance().compile(k.source, {.name = k.name}, &cache));
  std::filesystem::remove_all(cache.dir());
}
BENCHMARK(BM_JitCacheLoad_RegressionStep)->Unit(benchmark::kMillisecond);

/** Forward + backward (loss and every parameter gradient) per call. */
static void BM_ForwardBackward(benchmark::State& state) {
  const bool classification = state.range(0) != 0;
  const int64_t batch = state.range(1);
  const Net n = course_net(classification);
  const ir::Graph g = ir::optimize(ir::grad(n.lowered.graph, "loss", n.params));
  Executable exe = Executable::compile(g);
  exe.set_params(init_parameters(n.lowered.params, 1, ir::DType::F64));
  const int64_t features = classification ? 2 : 1;
  MatrixRM y = MatrixRM::Random(batch, features) * 3.0f;
  MatrixRM c = MatrixRM::Random(batch, 1);
  Eigen::VectorXi labels(batch);
  for (int64_t i = 0; i < batch; ++i)
    labels(i) = static_cast<int>(i % 3);
  Feed feed{{"y", y}};
  if (classification)
    feed.emplace_back("c", labels);
  else
    feed.emplace_back("c", c);
  exe.run(feed); // sizes the buffers
  // The bare call with prepared slots: what a training loop pays per step.
  std::vector<void*> slots;
  std::vector<std::vector<float>> outs;
  for (const codegen::Slot& s : exe.kernel().schedule.slots) {
    if (s.role == codegen::Slot::Role::Input)
      slots.push_back(s.name == "y"    ? static_cast<void*>(y.data())
                      : classification ? static_cast<void*>(labels.data())
                                       : static_cast<void*>(c.data()));
    else if (s.role == codegen::Slot::Role::Param)
      slots.push_back(exe.param_data(s.name));
    else if (s.role == codegen::Slot::Role::Output) {
      outs.emplace_back(static_cast<size_t>(s.type.shape.numel(batch)));
      slots.push_back(outs.back().data());
    }
  }
  for (auto _ : state)
    exe.call(batch, slots.data());
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(std::string(classification ? "2-14-10-3 cross-entropy" : "1-14-10-1 MSE") +
                 ", batch " + std::to_string(batch));
}
BENCHMARK(BM_ForwardBackward)->ArgsProduct({{0, 1}, {5, 1024}})->ArgNames({"classify", "batch"});

BENCHMARK_MAIN();
