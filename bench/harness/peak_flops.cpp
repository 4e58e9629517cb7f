#include "bench/harness/peak_flops.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kiln::bench {

namespace {

// 16 accumulators: FMA latency (4 cycles) x 2 FMA ports = 8 in flight is the minimum; 16 leaves
// room and still fits the 32 vector registers of AVX-512 with the two operands.
constexpr int kAccumulators = 16;

#define KILN_ACCUMULATORS(X)                                                                       \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

// acc = acc * a + b must compile to one FMA per vector: this file is built with
// -ffp-contract=fast (see CMakeLists.txt), since ISO C++ mode turns contraction off. The
// accumulators are separate variables, not an array, so that they stay in registers.
template <typename V>
__attribute__((always_inline)) inline float fma_rounds(long rounds, float seed) {
  constexpr int kLanes = sizeof(V) / sizeof(float);
  V a, b, init;
  for (int l = 0; l < kLanes; ++l) {
    a[l] = 0.999999f; // |a| < 1: the recurrence converges, never overflows nor goes subnormal
    b[l] = seed * 1e-3f;
    init[l] = seed + float(l);
  }
#define KILN_DECLARE(k) V acc##k = init + float(k);
  KILN_ACCUMULATORS(KILN_DECLARE)
  // The rounds cannot be folded: without -ffast-math the compiler may not reassociate.
  for (long r = 0; r < rounds; ++r) {
#define KILN_FMA(k) acc##k = acc##k * a + b;
    KILN_ACCUMULATORS(KILN_FMA)
  }
  V total = init * 0.0f;
#define KILN_SUM(k) total += acc##k;
  KILN_ACCUMULATORS(KILN_SUM)
#undef KILN_DECLARE
#undef KILN_FMA
#undef KILN_SUM
  float sum = 0;
  for (int l = 0; l < kLanes; ++l)
    sum += total[l];
  return sum;
}

typedef float V16 __attribute__((vector_size(64)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));

__attribute__((target("avx512f"))) float rounds_avx512(long rounds, float seed) {
  return fma_rounds<V16>(rounds, seed);
}
__attribute__((target("avx2,fma"))) float rounds_avx2(long rounds, float seed) {
  return fma_rounds<V8>(rounds, seed);
}
float rounds_sse(long rounds, float seed) {
  return fma_rounds<V4>(rounds, seed);
}

int vector_lanes() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return 8;
  return 4;
}

std::atomic<float> g_sink{0}; // keeps the loops' results observable

} // namespace

double fma_flops_per_round() {
  return 2.0 * kAccumulators * vector_lanes();
}

double run_fma_loop(int threads, long rounds) {
  const int lanes = vector_lanes();
  auto work = [lanes, rounds](int id) {
    const float seed = 1.0f + 0.25f * float(id);
    const float r = lanes == 16  ? rounds_avx512(rounds, seed)
                    : lanes == 8 ? rounds_avx2(rounds, seed)
                                 : rounds_sse(rounds, seed);
    g_sink.store(r, std::memory_order_relaxed);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool)
    t.join();
  return fma_flops_per_round() * double(rounds) * std::max(1, threads);
}

double measure_peak_fp32(int threads, double seconds) {
  using Clock = std::chrono::steady_clock;
  auto flops_per_second = [threads](long rounds, double* dt) {
    const auto t0 = Clock::now();
    const double flops = run_fma_loop(threads, rounds);
    *dt = std::chrono::duration<double>(Clock::now() - t0).count();
    return flops / *dt;
  };
  long rounds = 1 << 14;
  double dt = 0, best = flops_per_second(rounds, &dt);
  while (dt < seconds / 4 && rounds < (1L << 40)) {
    rounds *= 2;
    best = flops_per_second(rounds, &dt);
  }
  // The peak is the fastest the machine goes, so the estimate is the best run, not the median.
  for (int i = 0; i < 3; ++i)
    best = std::max(best, flops_per_second(rounds, &dt));
  return best;
}

} // namespace kiln::bench
