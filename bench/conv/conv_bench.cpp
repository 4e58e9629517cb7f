// GFLOP/s of kiln's direct convolution (codegen/cpu/conv.h) in generated CPU kernels, single
// thread, next to this machine's FP32 peak: the three products of the course's CNN layers
// (dnn101: Conv2d(1, 32, 3) on 28x28, Conv2d(32, 64, 3) on 26x26) at batch 32.
//
// Timed as bench/common/kernel_bench.h says (CPU time, each call beside the peak loop). Run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true and read the medians.

#include <benchmark/benchmark.h>

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

enum class Product { Forward, ForwardBiasRelu, InputGrad, WeightGrad };

/** One product of a 3x3 convolution of c channels of h x w images into o channels, batch n. */
class Conv {
public:
  Conv(Product p, int64_t n, int64_t c, int64_t o, int64_t h, int64_t w) {
    kiln::ir::Builder b;
    const int64_t oh = h - 2, ow = w - 2;
    const Shape xs{kBatch, c, h, w}, ys{kBatch, o, oh, ow}, ws{o, c, 3, 3};
    Val out;
    if (p == Product::Forward || p == Product::ForwardBiasRelu) {
      const Val x{b, b.input("x", {DType::F32, xs})}, k{b, b.param("w", {DType::F32, ws})};
      out = kiln::ir::conv2d(x, k, {});
      if (p == Product::ForwardBiasRelu) {
        const Val bias{b, b.param("b", {DType::F32, Shape{o}})};
        out = kiln::ir::relu(out + kiln::ir::reshape(bias, Shape{o, 1, 1}));
      }
    } else if (p == Product::InputGrad) {
      const Val g{b, b.input("g", {DType::F32, ys})}, k{b, b.param("w", {DType::F32, ws})};
      const Val in[] = {g, k};
      out = kiln::ir::apply(kiln::ir::Op::Conv2dInputGrad, in,
                            kiln::ir::Attrs().set("input", std::vector<int64_t>{h, w}));
    } else {
      const Val x{b, b.input("x", {DType::F32, xs})}, g{b, b.input("g", {DType::F32, ys})};
      const Val in[] = {x, g};
      out = kiln::ir::apply(kiln::ir::Op::Conv2dWeightGrad, in,
                            kiln::ir::Attrs().set("kernel", std::vector<int64_t>{3, 3}));
    }
    b.set_output("y", out.id());
    kiln::codegen::CpuKernel kernel = kiln::codegen::render_cpu(kiln::ir::optimize(b.graph()));
    if (kernel.source.find("direct convolution") == std::string::npos)
      throw kiln::Error("[conv_bench] the kernel has no direct convolution");
    kernel_ =
        std::make_unique<kiln::bench::GeneratedKernel>(kernel, kernel.source, n, "conv_bench");
    flops_ = 2.0 * static_cast<double>(n * o * oh * ow * c * 9);
  }

  void run() { kernel_->run(); }
  double flops() const { return flops_; }

private:
  std::unique_ptr<kiln::bench::GeneratedKernel> kernel_;
  double flops_ = 0;
};

void conv(benchmark::State& state, Product p) {
  try {
    Conv c(p, state.range(0), state.range(1), state.range(2), state.range(3), state.range(3));
    kiln::bench::measure(state, c.flops(), [&] { c.run(); });
  } catch (const kiln::Error& e) {
    state.SkipWithError(e.what());
  }
}

void BM_Forward(benchmark::State& s) {
  conv(s, Product::Forward);
}
void BM_ForwardBiasRelu(benchmark::State& s) {
  conv(s, Product::ForwardBiasRelu);
}
void BM_InputGrad(benchmark::State& s) {
  conv(s, Product::InputGrad);
}
void BM_WeightGrad(benchmark::State& s) {
  conv(s, Product::WeightGrad);
}

/** The course's two layers at batch 32: args batch, in channels, out channels, image size. */
void course(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "in", "out", "size"})->UseManualTime();
  b->Args({32, 1, 32, 28});
  b->Args({32, 32, 64, 26});
}

} // namespace

BENCHMARK(BM_Forward)
    ->Apply(course)
    ->Args({32, 32, 32, 26})
    ->Args({32, 64, 32, 28})
    ->Args({32, 64, 64, 28});
BENCHMARK(BM_ForwardBiasRelu)->Apply(course);
BENCHMARK(BM_InputGrad)
    ->ArgNames({"batch", "in", "out", "size"})
    ->UseManualTime()
    ->Args({32, 32, 64, 26});
BENCHMARK(BM_WeightGrad)->Apply(course);

BENCHMARK_MAIN();
