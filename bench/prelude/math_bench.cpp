// Throughput of kiln_math's float functions against the standard library's, over 4096 floats.
// Built with the CPU JIT's flags (-march=native -ffp-contract=fast), so the kiln loops vectorize
// and the std:: loops are what a kernel calling libm would get.

#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "base/rng.h"
#include "codegen/prelude/kiln_math.h"

namespace {

constexpr int kN = 4096;

template <class F>
void bm_unary(benchmark::State& state, F f, float lo, float hi) {
  kiln::Rng rng(1);
  std::vector<float> x(kN), y(kN);
  for (float& v : x)
    v = static_cast<float>(rng.uniform(lo, hi));
  for (auto _ : state) {
    const float* in = x.data();
    float* out = y.data();
    for (int i = 0; i < kN; ++i)
      out[i] = f(in[i]);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kN);
  // Seconds per element; the console shows it with an SI prefix (n = nanoseconds).
  state.counters["per_elem"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kN,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

float std_sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

} // namespace

BENCHMARK_CAPTURE(
    bm_unary, kiln_tanh, [](float x) { return kiln_tanh(x); }, -5.0f, 5.0f);
BENCHMARK_CAPTURE(
    bm_unary, std_tanh, [](float x) { return std::tanh(x); }, -5.0f, 5.0f);
BENCHMARK_CAPTURE(
    bm_unary, kiln_exp, [](float x) { return kiln_exp(x); }, -10.0f, 10.0f);
BENCHMARK_CAPTURE(
    bm_unary, std_exp, [](float x) { return std::exp(x); }, -10.0f, 10.0f);
BENCHMARK_CAPTURE(
    bm_unary, kiln_log, [](float x) { return kiln_log(x); }, 0.01f, 100.0f);
BENCHMARK_CAPTURE(
    bm_unary, std_log, [](float x) { return std::log(x); }, 0.01f, 100.0f);
BENCHMARK_CAPTURE(
    bm_unary, kiln_sigmoid, [](float x) { return kiln_sigmoid(x); }, -5.0f, 5.0f);
BENCHMARK_CAPTURE(
    bm_unary, std_sigmoid, [](float x) { return std_sigmoid(x); }, -5.0f, 5.0f);

BENCHMARK_MAIN();
