// kiln_bench: kiln and its peers side by side on the same workloads, data and initial weights.
// Extra context (CPU, BLAS core, measured FP32 peak) goes into Google Benchmark's "context",
// where bench/scripts/results_table.py reads it.
//
// Environment: KILN_BENCH_REPETITIONS (default 5) repetitions per benchmark; OPENBLAS_CORETYPE
// is set to SkylakeX by the harness itself on AVX-512 machines unless already set;
// KILN_BENCH_DENORMALS=1 keeps IEEE subnormals (by default they are flushed, see below).

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#if defined(__SSE__)
#include <pmmintrin.h>
#include <xmmintrin.h>
#endif

#include "bench/harness/benchmarks.h"
#include "bench/harness/cnn_benchmarks.h"
#include "bench/harness/jit_benchmarks.h"
#include "bench/harness/machine_info.h"
#include "bench/harness/peak_flops.h"
#include "bench/harness/pinn_benchmarks.h"
#include "runtime/cpu/thread_pool.h"

namespace {

// Subnormal floats cost ~100 cycles each on x86. Vanishing gradients (W3's 32 tanh layers) and
// Adam's second moment produce them at rates that depend on each peer's trajectory, which made
// W3's Eigen step 2.7x slower and the ratios meaningless. So every peer runs with FTZ + DAZ, set
// here before any thread exists (threads inherit the mode). Returns the mode, for the context.
std::string set_denormal_mode() {
  const char* keep = std::getenv("KILN_BENCH_DENORMALS");
  if (keep != nullptr && std::string(keep) == "1")
    return "ieee";
#if defined(__SSE__)
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  return "flush_to_zero";
#else
  return "ieee";
#endif
}

int repetitions_from_env() {
  const char* env = std::getenv("KILN_BENCH_REPETITIONS");
  const int n = env ? std::atoi(env) : 5;
  return n >= 1 ? n : 5;
}

std::string gflops(double flops) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", flops * 1e-9);
  return buf;
}

void add_context(const std::vector<kiln::bench::Peer>& peers, const std::string& denormals) {
  using benchmark::AddCustomContext;
  AddCustomContext("kiln_denormals", denormals);
  const auto blas = kiln::bench::loaded_blas();
  AddCustomContext("kiln_cpu_model", kiln::bench::cpu_model());
  AddCustomContext("kiln_blas_libraries", blas.libraries);
  AddCustomContext("kiln_blas_config", blas.config);
  AddCustomContext("kiln_blas_core", blas.core);
  AddCustomContext("kiln_blas_threads", std::to_string(blas.threads));
  AddCustomContext("kiln_openblas_coretype", blas.coretype_env);
  std::string names;
  for (const auto& p : peers)
    names += (names.empty() ? "" : ",") + p.name;
  AddCustomContext("kiln_peers", names);
  AddCustomContext("kiln_compiler", "gcc " __VERSION__);
#ifdef KILN_BENCH_TORCH_VERSION
  AddCustomContext("kiln_torch_version", KILN_BENCH_TORCH_VERSION);
#endif
  AddCustomContext("kiln_peak_fp32_gflops_threads1", gflops(kiln::bench::measure_peak_fp32(1)));
  AddCustomContext("kiln_peak_fp32_gflops_threads2", gflops(kiln::bench::measure_peak_fp32(2)));
}

} // namespace

int main(int argc, char** argv) {
  // Before anything touches OpenBLAS: may re-exec this program with OPENBLAS_CORETYPE set.
  kiln::bench::pin_openblas_core(argv);

  const std::string denormals = set_denormal_mode();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;

  const auto peers = kiln::bench::available_peers();
  std::vector<std::shared_ptr<const kiln::bench::Workload>> workloads;
  for (auto& w : kiln::bench::all_workloads())
    workloads.push_back(std::make_shared<const kiln::bench::Workload>(std::move(w)));

  const int repetitions = repetitions_from_env();
  // One thread for kiln's kernels, whatever KILN_THREADS says, except where a benchmark's name
  // says threads:N (the W4 step).
  kiln::runtime::ThreadPool::instance().set_threads(1);
  add_context(peers, denormals);
  kiln::bench::register_peak_benchmarks(repetitions);
  kiln::bench::register_workload_benchmarks(workloads, peers, repetitions);
  kiln::bench::register_cnn_benchmarks(repetitions);
  kiln::bench::register_jit_benchmarks(workloads.front()->step.spec, workloads.front()->name,
                                       repetitions);
  kiln::bench::register_pinn_benchmarks(repetitions);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
