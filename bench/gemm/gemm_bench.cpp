// GFLOP/s of kiln's blocked GEMM (codegen/cpu/gemm.h) in generated CPU kernels, single thread,
// next to this machine's FP32 peak, the row-loop path it replaces for large products, and Eigen.
//
// Every kernel has a dynamic row count N, so its source holds both paths behind
// `if (N >= min_batch)`; the benchmark rewrites that condition to time either path on the same
// source. Weight gradients (a dynamic depth N, summed over the batch) get the blocked GEMM alone.
//
// Timed as bench/common/kernel_bench.h says (CPU time, each call beside the peak loop). Run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true and read the medians.

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "bench/common/kernel_bench.h"
#include "codegen/cpu/renderer.h"
#include "ir/passes.h"
#include "ir/val.h"

namespace {

using kiln::ir::DType;
using kiln::ir::kBatch;
using kiln::ir::Shape;
using kiln::ir::Val;

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
          Path path, Epilogue epi) {
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
    const kiln::codegen::CpuKernel kernel =
        kiln::codegen::render_cpu(kiln::ir::optimize(b.graph()));
    // Force one path: the source holds `if (N >= <min_batch>) { blocked } else { row loop }`,
    // or the blocked GEMM alone.
    std::string src = kernel.source;
    const size_t at = src.find("if (N >= ");
    if (at != std::string::npos) {
      const size_t end = src.find(')', at);
      src.replace(at, end + 1 - at, path == Path::Blocked ? "if (1)" : "if (0)");
    } else if (path == Path::RowLoop || src.find("blocked GEMM") == std::string::npos) {
      throw kiln::Error("[gemm_bench] expected a size-rule branch in the kernel:\n" + src);
    }
    kernel_ = std::make_unique<kiln::bench::GeneratedKernel>(kernel, src, n, "gemm_bench");
    flops_ = 2.0 * static_cast<double>(n) * static_cast<double>(cols) *
             static_cast<double>(by_depth ? rows : depth);
  }

  void run() { kernel_->run(); }
  double flops() const { return flops_; }

private:
  std::unique_ptr<kiln::bench::GeneratedKernel> kernel_;
  double flops_ = 0;
};

/** Args: rows, cols, depth, ta, tb (Batch::Rows) or rows, cols, batch, ta, tb (Batch::Depth). */
void gemm(benchmark::State& state, Batch batch, Path path, Epilogue epi) {
  const int64_t n = batch == Batch::Rows ? state.range(0) : state.range(2);
  try {
    Product p(batch, n, state.range(0), state.range(1), state.range(2), state.range(3) != 0,
              state.range(4) != 0, path, epi);
    kiln::bench::measure(state, p.flops(), [&] { p.run(); });
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
  kiln::bench::measure(state, 2.0 * static_cast<double>(rows * cols * depth),
                       [&] { c.noalias() = a * b; });
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
