// GFLOP/s of kiln's blocked GEMM (codegen/cpu/gemm.h) in generated CPU kernels, single thread,
// next to this machine's FP32 peak, the row-loop path it replaces for large products, and Eigen.
//
// Every kernel has a dynamic row count N, so its source holds both paths behind
// `if (N >= min_batch)`; the benchmark rewrites that condition to time either path on the same
// source. Weight gradients (a dynamic depth N, summed over the batch) get the blocked GEMM alone.
//
// Timing is thread CPU time, and every iteration of a product is followed by the peak FMA loop
// doing the same number of flops: "GFLOPs" is the product's rate, "peak" the loop's rate over the
// same stretch of time, "of_peak" their ratio. On a shared machine (other processes, a busy
// sibling hyperthread) both slow down together, so the ratio holds where raw rates do not. The
// Time column is the product's CPU time alone (manual time). Run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true and read the medians.

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "codegen/cpu/renderer.h"
#include "ir/passes.h"
#include "ir/val.h"
#include "runtime/cpu/cpu_jit.h"

namespace {

using kiln::ir::DType;
using kiln::ir::kBatch;
using kiln::ir::Shape;
using kiln::ir::Val;

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

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/** The JIT'd peak FMA loop. */
struct Peak {
  std::shared_ptr<kiln::runtime::CpuModule> module;
  float (*run)(long long, float) = nullptr;
  double flops_per_round = 0;
};

Peak& peak() {
  static Peak p = [] {
    Peak q;
    q.module = kiln::runtime::CpuJit::instance().compile(kPeakSource, {.name = "gemm_bench_peak"});
    q.run = q.module->function<float(long long, float)>("kiln_peak");
    q.flops_per_round = 2.0 * 16 * q.module->function<int()>("kiln_peak_lanes")();
    return q;
  }();
  return p;
}

/** Aligned, zeroed bytes that free themselves. */
struct Buffer {
  std::unique_ptr<std::byte, void (*)(void*)> mem{nullptr, std::free};
  explicit Buffer(size_t bytes) {
    const size_t n = (std::max<size_t>(bytes, 64) + 63) & ~size_t{63};
    mem.reset(static_cast<std::byte*>(std::aligned_alloc(64, n)));
    std::memset(mem.get(), 0, n);
  }
  void* data() const { return mem.get(); }
};

enum class Path { Blocked, RowLoop };
enum class Epilogue { None, BiasRelu };
/** Which dim of the product is the batch N. */
enum class Batch { Rows, Depth };

/**
 * A generated kernel for C[N, cols] = op(A) op(B) (+ epilogue), or with Batch::Depth for
 * C[rows, cols] summed over a depth of N, with its buffers at batch n.
 */
class Product {
public:
  Product(Batch batch, int64_t n, int64_t rows, int64_t cols, int64_t depth, bool ta, bool tb,
          Path path, Epilogue epi)
      : n_(n) {
    kiln::ir::Builder b;
    const bool by_depth = batch == Batch::Depth;
    const int64_t m = by_depth ? rows : kBatch, k = by_depth ? kBatch : depth;
    const Val A{b, b.input("a", {DType::F32, ta ? Shape{k, m} : Shape{m, k}})};
    const Shape bs = tb ? Shape{cols, k} : Shape{k, cols};
    const Val B{b, by_depth ? b.input("b", {DType::F32, bs}) : b.param("b", {DType::F32, bs})};
    Val C = kiln::ir::matmul(A, B, ta, tb);
    if (epi == Epilogue::BiasRelu)
      C = kiln::ir::relu(C + Val{b, b.param("bias", {DType::F32, Shape{cols}})});
    b.set_output("c", C.id());
    kernel_ = kiln::codegen::render_cpu(kiln::ir::optimize(b.graph()));
    // Force one path: the source holds `if (N >= <min_batch>) { blocked } else { row loop }`,
    // or the blocked GEMM alone.
    std::string src = kernel_.source;
    const size_t at = src.find("if (N >= ");
    if (at != std::string::npos) {
      const size_t end = src.find(')', at);
      src.replace(at, end + 1 - at, path == Path::Blocked ? "if (1)" : "if (0)");
    } else if (path == Path::RowLoop || src.find("blocked GEMM") == std::string::npos) {
      throw kiln::Error("[gemm_bench] expected a size-rule branch in the kernel:\n" + src);
    }
    module_ = kiln::runtime::CpuJit::instance().compile(src, {.name = "gemm_bench"});
    fn_ = module_->function<void(long long, void* const*, void*)>(kernel_.name);

    kiln::Rng rng(42);
    for (const kiln::codegen::Slot& s : kernel_.schedule.slots) {
      const auto count = static_cast<size_t>(s.type.shape.numel(n));
      buffers_.emplace_back(count * sizeof(float));
      auto* f = static_cast<float*>(buffers_.back().data());
      for (size_t i = 0; i < count; ++i)
        f[i] = static_cast<float>(rng.uniform(-1, 1));
      slots_.push_back(buffers_.back().data());
    }
    workspace_ = std::make_unique<Buffer>(static_cast<size_t>(kernel_.workspace_bytes(n)));
    flops_ = 2.0 * static_cast<double>(n) * static_cast<double>(cols) *
             static_cast<double>(by_depth ? rows : depth);
  }

  void run() { fn_(n_, slots_.data(), workspace_->data()); }
  double flops() const { return flops_; }

private:
  int64_t n_;
  kiln::codegen::CpuKernel kernel_;
  std::shared_ptr<kiln::runtime::CpuModule> module_;
  void (*fn_)(long long, void* const*, void*) = nullptr;
  std::vector<Buffer> buffers_;
  std::vector<void*> slots_;
  std::unique_ptr<Buffer> workspace_;
  double flops_ = 0;
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

/** Args: rows, cols, depth, ta, tb (Batch::Rows) or rows, cols, batch, ta, tb (Batch::Depth). */
void gemm(benchmark::State& state, Batch batch, Path path, Epilogue epi) {
  const int64_t n = batch == Batch::Rows ? state.range(0) : state.range(2);
  try {
    Product p(batch, n, state.range(0), state.range(1), state.range(2), state.range(3) != 0,
              state.range(4) != 0, path, epi);
    measure(state, p.flops(), [&] { p.run(); });
  } catch (const kiln::Error& e) {
    state.SkipWithError(e.what());
  }
}

void BM_Blocked(benchmark::State& state) {
  gemm(state, Batch::Rows, Path::Blocked, Epilogue::None);
}
void BM_RowLoop(benchmark::State& state) {
  gemm(state, Batch::Rows, Path::RowLoop, Epilogue::None);
}
void BM_BlockedBiasRelu(benchmark::State& state) {
  gemm(state, Batch::Rows, Path::Blocked, Epilogue::BiasRelu);
}
void BM_GradientBlocked(benchmark::State& state) {
  gemm(state, Batch::Depth, Path::Blocked, Epilogue::None);
}

/** Eigen's single-threaded GEMM (row-major, no transposes), for reference. */
void BM_Eigen(benchmark::State& state) {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t rows = state.range(0), cols = state.range(1), depth = state.range(2);
  const M a = M::Random(rows, depth), b = M::Random(depth, cols);
  M c(rows, cols);
  measure(state, 2.0 * static_cast<double>(rows * cols * depth), [&] { c.noalias() = a * b; });
}

void products(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "depth", "ta", "tb"})->UseManualTime();
  // The target shapes: [1024,256]x[256,256] (every transpose) and [1024,64]x[64,256].
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      b->Args({1024, 256, 256, ta, tb});
  b->Args({1024, 256, 64, 0, 0});
  // Deep products, where one pass over the depth no longer fits L1 (A sliver) or L2 (B panel).
  b->Args({1024, 256, 1024, 0, 0});
  b->Args({512, 256, 4096, 0, 0});
}

/** Where the size rule switches: square products, and batches of 64- and 256-wide layers. */
void crossover(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "depth", "ta", "tb"})->UseManualTime();
  for (int64_t n : {16, 24, 32, 48, 64, 96})
    b->Args({n, n, n, 0, 0});
  for (int64_t n : {8, 16, 27, 48})
    b->Args({n, 64, 64, 0, 0});
  for (int64_t n : {4, 8, 16, 32})
    b->Args({n, 256, 256, 0, 0});
}

/**
 * Weight gradients dW = dZ^T X (depth N) at batch 1024: a 256 x 256 layer with every transpose,
 * and W4's other shapes (first layer, classifier); then small batches.
 */
void gradients(benchmark::internal::Benchmark* b) {
  b->ArgNames({"rows", "cols", "batch", "ta", "tb"})->UseManualTime();
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      b->Args({256, 256, 1024, ta, tb});
  b->Args({256, 64, 1024, 1, 0});
  b->Args({64, 64, 1024, 1, 0});
  b->Args({10, 256, 1024, 1, 0});
  for (int64_t n : {1, 4, 8})
    for (int64_t rows : {10, 64, 256})
      b->Args({rows, rows == 64 ? 64 : 256, n, 1, 0});
}

} // namespace

BENCHMARK(BM_Blocked)->Apply(products);
BENCHMARK(BM_RowLoop)->Apply(products);
BENCHMARK(BM_BlockedBiasRelu)
    ->ArgNames({"rows", "cols", "depth", "ta", "tb"})
    ->UseManualTime()
    ->Args({1024, 256, 256, 0, 0});
BENCHMARK(BM_Eigen)
    ->ArgNames({"rows", "cols", "depth"})
    ->UseManualTime()
    ->Args({1024, 256, 256})
    ->Args({1024, 256, 64});
BENCHMARK(BM_Blocked)->Name("BM_Crossover/blocked")->Apply(crossover);
BENCHMARK(BM_RowLoop)->Name("BM_Crossover/row_loop")->Apply(crossover);
// Gradients get the blocked GEMM alone, so there is no row loop to time next to them (README).
BENCHMARK(BM_GradientBlocked)->Apply(gradients);

BENCHMARK_MAIN();
