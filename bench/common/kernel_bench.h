#pragma once
// What the product benchmarks (bench/gemm, bench/conv) share: a generated CPU kernel compiled by
// the JIT with random inputs at a batch size, and a timing loop that follows every call with the
// machine's peak FMA loop doing the same number of flops.
//
// Timing is thread CPU time. "GFLOPs" is the product's rate, "peak" the loop's rate over the
// same stretch of time, "of_peak" their ratio: on a shared machine (other processes, a busy
// sibling hyperthread) both slow down together, so the ratio holds where raw rates do not. The
// Time column is the product's CPU time alone (manual time).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/cpu/renderer.h"
#include "runtime/cpu/cpu_jit.h"

namespace kiln::bench {

/** CPU time of the calling thread, in seconds. */
double thread_seconds();

/** The JIT'd peak FMA loop: 16 independent vector accumulators, the kernels' flags. */
struct Peak {
  std::shared_ptr<runtime::CpuModule> module;
  float (*run)(long long, float) = nullptr;
  double flops_per_round = 0;
};

/** Compiled on first use. */
Peak& peak();

/** Aligned (64 bytes), zeroed bytes that free themselves. */
struct Buffer {
  std::unique_ptr<std::byte, void (*)(void*)> mem{nullptr, std::free};
  explicit Buffer(size_t bytes);
  void* data() const { return mem.get(); }
};

/**
 * `kernel` compiled from `source` (its own, or a variant of it), every slot filled with uniform
 * random values in [-1, 1) (seed 42) at batch `n`, with its workspace.
 */
class GeneratedKernel {
public:
  GeneratedKernel(codegen::CpuKernel kernel, const std::string& source, int64_t n,
                  const std::string& name);
  void run() { fn_(n_, slots_.data(), workspace_->data()); }
  const codegen::CpuKernel& kernel() const { return kernel_; }

private:
  int64_t n_;
  codegen::CpuKernel kernel_;
  std::shared_ptr<runtime::CpuModule> module_;
  void (*fn_)(long long, void* const*, void*) = nullptr;
  std::vector<Buffer> buffers_;
  std::vector<void*> slots_;
  std::unique_ptr<Buffer> workspace_;
};

/** Times `body` (flops_per_call each) interleaved with the peak loop doing the same flops. */
template <class Body>
void measure(benchmark::State& state, double flops_per_call, Body&& body) {
  Peak& p = peak();
  const auto rounds =
      std::max<long long>(1, static_cast<long long>(flops_per_call / p.flops_per_round));
  double own = 0, loop = 0;
  for (auto _ : state) {
    const double t0 = thread_seconds();
    body();
    benchmark::ClobberMemory();
    const double t1 = thread_seconds();
    benchmark::DoNotOptimize(p.run(rounds, 1.5f));
    const double t2 = thread_seconds();
    state.SetIterationTime(t1 - t0);
    own += t1 - t0;
    loop += t2 - t1;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["GFLOPs"] = flops_per_call * n / own * 1e-9;
  state.counters["peak"] = p.flops_per_round * static_cast<double>(rounds) * n / loop * 1e-9;
  state.counters["of_peak"] =
      (flops_per_call / own) / (p.flops_per_round * static_cast<double>(rounds) / loop);
}

} // namespace kiln::bench
