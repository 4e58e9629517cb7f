#include "bench/harness/jit_benchmarks.h"

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "base/side_by_side.h"
#include "bench/harness/pinn_benchmarks.h"
#include "bench/peers/kiln_mlp.h"
#include "frontend/kiln.h"
#include "runtime/executable.h"
#include "runtime/kernel_cache.h"
#include "train/problem.h"

namespace kiln::bench {

namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const char* what) {
  static std::atomic<int> counter{0};
  return fs::temp_directory_path() / ("kiln-bench-jit-" + std::to_string(::getpid()) + "-" + what +
                                      "-" + std::to_string(counter++));
}

/** What a compile benchmark compiles; returns whether every kernel came from the cache. */
using Compile = std::function<bool(runtime::KernelCache*)>;

// The kernels the Trainer compiles for `spec` (as Trainer::fit does, trainer/trainer.cpp): the
// step with its fused epoch and its batch, the evaluation with its fused evaluation and the
// prediction, side by side on the machine's threads, the step first.
bool trainer_set(const MlpSpec& spec, runtime::KernelCache* cache) {
  const nn::Sequential net = kiln_network(spec);
  const bool ce = spec.loss == Loss::kCrossEntropy;
  const train::ProblemGraphs g = train::build(train::supervised(
      net, spec.inputs(), spec.outputs(), ce ? kiln::Loss::cross_entropy() : kiln::Loss::mse(),
      std::make_shared<optim::Adam>(spec.adam.lr)));
  const StepGraph& sg = *g.step;
  std::optional<Executable> step, eval, predict;
  run_side_by_side(
      {[&] {
         step.emplace(Executable::compile(sg.graph, {.name = "step",
                                                     .cache = cache,
                                                     .updates = sg.updates,
                                                     .epoch = g.epoch,
                                                     .batch_hint = spec.max_batch}));
       },
       [&] {
         eval.emplace(
             Executable::compile(g.eval, {.name = "eval", .cache = cache, .evaluate = g.epoch}));
       },
       [&] {
         predict.emplace(Executable::compile(g.predict, {.name = "predict", .cache = cache}));
       }});
  return predict->from_cache() && eval->from_cache() && step->from_cache();
}

// Everything a user waits for when a model is first compiled: graphs, passes, codegen, clang
// and the link, with an empty disk cache (a new folder every iteration).
void cold(benchmark::State& state, const Compile& compile) {
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = fresh_dir("cold");
    state.ResumeTiming();
    {
      runtime::KernelCache cache(dir);
      if (compile(&cache))
        state.SkipWithError("a fresh cache folder had the kernel");
    }
    state.PauseTiming();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
}

// The same with the object files already in the cache: clang does not run.
void warm(benchmark::State& state, const Compile& compile) {
  const fs::path dir = fresh_dir("warm");
  {
    runtime::KernelCache cache(dir);
    compile(&cache);
    for (auto _ : state)
      if (!compile(&cache)) {
        state.SkipWithError("the warm cache missed");
        break;
      }
  }
  fs::remove_all(dir);
}

void add(const std::string& name, const Compile& compile, bool is_cold, int repetitions) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), [compile, is_cold](benchmark::State& s) {
    is_cold ? cold(s, compile) : warm(s, compile);
  });
  b->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(repetitions);
  b->ReportAggregatesOnly(true);
  if (is_cold)
    b->Iterations(3);
}

} // namespace

void register_jit_benchmarks(const MlpSpec& spec, const std::string& workload, int repetitions) {
  const Compile step = [spec](runtime::KernelCache* cache) {
    return KilnMlp(spec, {.cache = cache, .trainer_kernel = false, .eval_kernel = false})
        .kernel_from_cache();
  };
  const Compile trainer = [spec](runtime::KernelCache* cache) { return trainer_set(spec, cache); };
  for (bool is_cold : {true, false}) {
    const std::string when = is_cold ? "cold" : "warm";
    add(workload + "_compile-" + when + "-step/kiln", step, is_cold, repetitions);
    add(workload + "_compile-" + when + "-trainer/kiln", trainer, is_cold, repetitions);
    add("W6_compile-" + when + "-step/kiln", compile_w6_step, is_cold, repetitions);
  }
}

} // namespace kiln::bench
