// The CUDA backend's measurements (issue: "CUDA backend"): the training step (forward, MSE,
// backward, Adam) of a 32-64-64-64-64-16 ReLU MLP (64 wide, 4 hidden layers) at batch 2^14 to
// 2^18, the course's 1-14-10-1 regression step at batch 5 and its fused epoch (2000 samples,
// batch 5, shuffled), all with data resident on the device; and NVRTC's cold compile of those
// steps, which needs no GPU. Without a GPU the device benchmarks skip with "no GPU".
//
//   build/bench/cuda/cuda_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// bench/cuda/torch_mlp.py times the same workloads with PyTorch eager and torch.compile.

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "base/error.h"
#include "base/rng.h"
#include "codegen/cuda/renderer.h"
#include "frontend/kiln.h"
#include "ir/passes.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_driver.h"
#include "runtime/cuda/nvrtc.h"
#include "runtime/executable.h"
#include "train/step.h"

using namespace kiln;

namespace {

/** A network with an MSE loss on targets "c", and its training step with Adam. */
struct Workload {
  Lowered lowered;
  StepGraph step;
};

Workload make(nn::Sequential net, int64_t inputs, int64_t outputs) {
  Input y{{inputs}, "y"};
  Target c{{outputs}, "c"};
  Workload w;
  w.lowered = lower({{"loss", mse(net(y), c)}});
  std::vector<std::string> params;
  for (const ParamSpec& p : w.lowered.params)
    params.push_back(p.name);
  w.step = build_step(w.lowered.graph, optim::Adam(1e-3), params);
  return w;
}

Workload mlp64() {
  return make(nn::Sequential{nn::Linear(32, 64), nn::ReLU(), nn::Linear(64, 64), nn::ReLU(),
                             nn::Linear(64, 64), nn::ReLU(), nn::Linear(64, 64), nn::ReLU(),
                             nn::Linear(64, 16)},
              32, 16);
}

Workload regression() {
  return make(nn::Sequential{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                             nn::Linear(10, 1)},
              1, 1);
}

bool skip_without_gpu(benchmark::State& state) {
  if (runtime::CudaDriver::get().available())
    return false;
  state.SkipWithError("no GPU");
  return true;
}

/** A step compiled for device 0 with its inputs and outputs in device memory (Executable::call). */
struct DeviceStep {
  Executable exe;
  std::vector<runtime::DeviceBuffer> buffers;
  std::vector<void*> slots;
  int64_t batch;

  DeviceStep(const Workload& w, int64_t n, bool tf32 = false)
      : exe(Executable::compile(w.step.graph, {.name = "bench_step",
                                               .updates = w.step.updates,
                                               .device = Device::cuda(0),
                                               .tf32 = tf32})),
        batch(n) {
    exe.set_params(init_parameters(w.lowered.params, 1, ir::DType::F64));
    const auto& sl = exe.schedule().slots;
    buffers.resize(sl.size());
    slots.assign(sl.size(), nullptr);
    Rng rng(7);
    for (size_t i = 0; i < sl.size(); ++i) {
      if (sl[i].role == codegen::Slot::Role::Param) {
        slots[i] = exe.param_data(sl[i].name);
      } else if (sl[i].role != codegen::Slot::Role::Scratch) {
        std::vector<float> host(static_cast<size_t>(sl[i].type.shape.numel(n)));
        for (float& x : host)
          x = sl[i].name == "lr" ? 1e-3f : static_cast<float>(rng.uniform(-1, 1));
        buffers[i] = runtime::DeviceBuffer(host.size() * sizeof(float));
        buffers[i].upload(host);
        slots[i] = reinterpret_cast<void*>(buffers[i].get());
      }
    }
  }
  void run() { exe.call(batch, slots.data()); }
};

// state.range(1): 1 for the layer products on TF32 tensor cores.
void BM_MlpStep(benchmark::State& state) {
  if (skip_without_gpu(state))
    return;
  DeviceStep s(mlp64(), state.range(0), state.range(1) != 0);
  s.run(); // captures the step's graph
  for (auto _ : state)
    s.run();
  state.SetLabel(s.exe.cuda_plan(s.batch).summary);
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(s.batch),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MlpStep)
    ->ArgsProduct({benchmark::CreateRange(1 << 14, 1 << 18, 2), {0, 1}})
    ->ArgNames({"batch", "tf32"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

void BM_RegressionStep(benchmark::State& state) {
  if (skip_without_gpu(state))
    return;
  DeviceStep s(regression(), 5);
  s.run();
  for (auto _ : state)
    s.run();
  state.SetLabel(s.exe.cuda_plan(5).summary);
}
BENCHMARK(BM_RegressionStep)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_RegressionEpoch(benchmark::State& state) {
  if (skip_without_gpu(state))
    return;
  const Workload w = regression();
  Executable exe =
      Executable::compile(w.step.graph, {.name = "bench_epoch",
                                         .updates = w.step.updates,
                                         .epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}},
                                         .device = Device::cuda(0)});
  exe.set_params(init_parameters(w.lowered.params, 1, ir::DType::F64));
  constexpr int64_t kSamples = 2000;
  MatrixRM x(kSamples, 1), y(kSamples, 1);
  Rng rng(3);
  for (int64_t i = 0; i < kSamples; ++i) {
    x(i, 0) = static_cast<float>(rng.uniform(-3, 3));
    y(i, 0) = static_cast<float>(std::sin(x(i, 0)) + 0.2 * rng.normal());
  }
  const MatrixRM lr = MatrixRM::Constant(1, 1, 1e-3f);
  uint64_t epoch = 0;
  for (auto _ : state)
    exe.run_epoch(kSamples, 5, true, epoch++, {x.data(), y.data()}, {{"lr", lr}});
  state.counters["steps/s"] =
      benchmark::Counter(kSamples / 5.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RegressionEpoch)->Unit(benchmark::kMillisecond)->UseRealTime();

/**
 * NVRTC's cold compile for sm_90 (no cache, no GPU needed) of each plan of a step, one after
 * another; the counters give each plan's milliseconds. A device program compiles its plans side
 * by side, and the per-group plan only when there is no chunked plan.
 */
void nvrtc_compile_step(benchmark::State& state, const Workload& w,
                        const codegen::EpochSpec* epoch) {
  const codegen::CudaKernel k = codegen::render_cuda(
      ir::optimize(w.step.graph),
      {.updates = w.step.updates, .epoch = epoch ? std::optional(*epoch) : std::nullopt});
  std::vector<double> ms(k.plans.size(), 0.0);
  for (auto _ : state)
    for (size_t i = 0; i < k.plans.size(); ++i) {
      runtime::NvrtcOptions o;
      o.name = "bench";
      o.use_cache = false;
      ms[i] += runtime::nvrtc_compile(k.plans[i].source, o).compile_ms;
    }
  static constexpr const char* kKind[] = {"per_group_ms", "single_block_ms", "chunked_ms"};
  for (size_t i = 0; i < k.plans.size(); ++i)
    state.counters[kKind[static_cast<int>(k.plans[i].kind)]] =
        ms[i] / static_cast<double>(state.iterations());
}

void BM_NvrtcCompileRegressionStep(benchmark::State& state) {
  const codegen::EpochSpec epoch{{"y", "c"}, {"loss"}};
  nvrtc_compile_step(state, regression(), &epoch);
}
BENCHMARK(BM_NvrtcCompileRegressionStep)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_NvrtcCompileMlpStep(benchmark::State& state) {
  nvrtc_compile_step(state, mlp64(), nullptr);
}
BENCHMARK(BM_NvrtcCompileMlpStep)->Unit(benchmark::kMillisecond)->Iterations(3);

} // namespace

BENCHMARK_MAIN();
