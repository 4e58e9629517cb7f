#include "bench/harness/jit_benchmarks.h"

#include <atomic>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include "bench/peers/kiln_mlp.h"
#include "runtime/kernel_cache.h"

namespace kiln::bench {

namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const char* what) {
  static std::atomic<int> counter{0};
  return fs::temp_directory_path() / ("kiln-bench-jit-" + std::to_string(::getpid()) + "-" + what +
                                      "-" + std::to_string(counter++));
}

// Everything a user waits for when a model is first compiled: step graph, passes, codegen,
// clang and the link, with an empty disk cache (a new folder every iteration).
void cold(benchmark::State& state, const MlpSpec& spec, bool trainer_kernel) {
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = fresh_dir("cold");
    state.ResumeTiming();
    {
      runtime::KernelCache cache(dir);
      KilnMlp mlp(spec, {.cache = &cache, .trainer_kernel = trainer_kernel});
      if (mlp.kernel_from_cache())
        state.SkipWithError("a fresh cache folder had the kernel");
    }
    state.PauseTiming();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
}

// The same with the object file already in the cache: clang does not run.
void warm(benchmark::State& state, const MlpSpec& spec, bool trainer_kernel) {
  const fs::path dir = fresh_dir("warm");
  {
    runtime::KernelCache cache(dir);
    KilnMlp first(spec, {.cache = &cache, .trainer_kernel = trainer_kernel});
    for (auto _ : state) {
      KilnMlp mlp(spec, {.cache = &cache, .trainer_kernel = trainer_kernel});
      if (!mlp.kernel_from_cache()) {
        state.SkipWithError("the warm cache missed");
        break;
      }
    }
  }
  fs::remove_all(dir);
}

} // namespace

void register_jit_benchmarks(const MlpSpec& spec, const std::string& workload, int repetitions) {
  for (bool trainer_kernel : {false, true}) {
    const std::string kind = trainer_kernel ? "trainer" : "step";
    benchmark::RegisterBenchmark(
        (workload + "_compile-cold-" + kind + "/kiln").c_str(),
        [spec, trainer_kernel](benchmark::State& s) { cold(s, spec, trainer_kernel); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3)
        ->Repetitions(repetitions)
        ->ReportAggregatesOnly(true);
    benchmark::RegisterBenchmark(
        (workload + "_compile-warm-" + kind + "/kiln").c_str(),
        [spec, trainer_kernel](benchmark::State& s) { warm(s, spec, trainer_kernel); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Repetitions(repetitions)
        ->ReportAggregatesOnly(true);
  }
}

} // namespace kiln::bench
