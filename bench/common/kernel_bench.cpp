#include "bench/common/kernel_bench.h"

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "base/rng.h"

namespace kiln::bench {
namespace {

// 16 independent accumulators: FMA latency 4 x 2 ports needs 8 in flight; 16 leave slack and fit
// the register file with the two operands (32 zmm, or 16 ymm on AVX2 hosts). Compiled by the same
// JIT with the same flags as the kernels, so the ratio compares like with like.
constexpr const char* kPeakSource = R"(
#ifdef __AVX512F__
typedef float kiln_v __attribute__((vector_size(64)));
#else
typedef float kiln_v __attribute__((vector_size(32)));
#endif
#define KILN_ACC(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
extern "C" int kiln_peak_lanes() { return (int)(sizeof(kiln_v) / sizeof(float)); }
extern "C" __attribute__((min_vector_width(512))) float kiln_peak(long long rounds, float seed) {
  const kiln_v a = (kiln_v){} + 0.999999f, b = (kiln_v){} + seed * 1e-3f;
#define KILN_DECL(k) kiln_v c##k = (kiln_v){} + (seed + k);
  KILN_ACC(KILN_DECL)
  for (long long r = 0; r < rounds; ++r) {
#define KILN_FMA(k) c##k = c##k * a + b;
    KILN_ACC(KILN_FMA)
  }
  kiln_v t = {};
#define KILN_SUM(k) t += c##k;
  KILN_ACC(KILN_SUM)
  float s = 0;
  for (unsigned i = 0; i < sizeof(kiln_v) / sizeof(float); ++i) s += t[i];
  return s;
}
)";

} // namespace

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Peak& peak() {
  static Peak p = [] {
    Peak q;
    q.module = runtime::CpuJit::instance().compile(kPeakSource, {.name = "bench_peak"});
    q.run = q.module->function<float(long long, float)>("kiln_peak");
    q.flops_per_round = 2.0 * 16 * q.module->function<int()>("kiln_peak_lanes")();
    return q;
  }();
  return p;
}

Buffer::Buffer(size_t bytes) {
  const size_t n = (std::max<size_t>(bytes, 64) + 63) & ~size_t{63};
  mem.reset(static_cast<std::byte*>(std::aligned_alloc(64, n)));
  std::memset(mem.get(), 0, n);
}

GeneratedKernel::GeneratedKernel(codegen::CpuKernel kernel, const std::string& source, int64_t n,
                                 const std::string& name)
    : n_(n), kernel_(std::move(kernel)) {
  module_ = runtime::CpuJit::instance().compile(source, {.name = name});
  fn_ = module_->function<void(long long, void* const*, void*)>(kernel_.name);
  Rng rng(42);
  for (const codegen::Slot& s : kernel_.schedule.slots) {
    const auto count = static_cast<size_t>(s.type.shape.numel(n));
    buffers_.emplace_back(count * sizeof(float));
    auto* f = static_cast<float*>(buffers_.back().data());
    for (size_t i = 0; i < count; ++i)
      f[i] = static_cast<float>(rng.uniform(-1, 1));
    slots_.push_back(buffers_.back().data());
  }
  workspace_ = std::make_unique<Buffer>(static_cast<size_t>(kernel_.workspace_bytes(n)));
}

} // namespace kiln::bench
