// GFLOP/s of kiln's direct convolution (codegen/cpu/conv.h) in generated CPU kernels, single
// thread, next to this machine's FP32 peak: the three products of the course's CNN layers
// (dnn101: Conv2d(1, 32, 3) on 28x28, Conv2d(32, 64, 3) on 26x26) at batch 32.
//
// Timing is thread CPU time, and every call is followed by the peak FMA loop doing the same
// number of flops: "GFLOPs" is the product's rate, "peak" the loop's rate over the same stretch,
// "of_peak" their ratio, which holds on a shared machine where raw rates drift. Run with
// --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true and read the medians.

#include <benchmark/benchmark.h>

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

// The peak loop of bench/gemm: 16 independent vector accumulators, compiled by the same JIT.
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

struct Peak {
  std::shared_ptr<kiln::runtime::CpuModule> module;
  float (*run)(long long, float) = nullptr;
  double flops_per_round = 0;
};

Peak& peak() {
  static Peak p = [] {
    Peak q;
    q.module = kiln::runtime::CpuJit::instance().compile(kPeakSource, {.name = "conv_bench_peak"});
    q.run = q.module->function<float(long long, float)>("kiln_peak");
    q.flops_per_round = 2.0 * 16 * q.module->function<int()>("kiln_peak_lanes")();
    return q;
  }();
  return p;
}

struct Buffer {
  std::unique_ptr<std::byte, void (*)(void*)> mem{nullptr, std::free};
  explicit Buffer(size_t bytes) {
    const size_t n = (std::max<size_t>(bytes, 64) + 63) & ~size_t{63};
    mem.reset(static_cast<std::byte*>(std::aligned_alloc(64, n)));
    std::memset(mem.get(), 0, n);
  }
  void* data() const { return mem.get(); }
};

enum class Product { Forward, ForwardBiasRelu, InputGrad, WeightGrad };

/** One product of a 3x3 convolution of c channels of h x w images into o channels, batch n. */
class Conv {
public:
  Conv(Product p, int64_t n, int64_t c, int64_t o, int64_t h, int64_t w) : n_(n) {
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
    kernel_ = kiln::codegen::render_cpu(kiln::ir::optimize(b.graph()));
    if (kernel_.source.find("direct convolution") == std::string::npos)
      throw kiln::Error("[conv_bench] the kernel has no direct convolution");
    module_ = kiln::runtime::CpuJit::instance().compile(kernel_.source, {.name = "conv_bench"});
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
    flops_ = 2.0 * static_cast<double>(n * o * oh * ow * c * 9);
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

void conv(benchmark::State& state, Product p) {
  try {
    Conv c(p, state.range(0), state.range(1), state.range(2), state.range(3), state.range(3));
    Peak& pk = peak();
    const auto rounds =
        std::max<long long>(1, static_cast<long long>(c.flops() / pk.flops_per_round));
    double own = 0, loop = 0;
    for (auto _ : state) {
      const double t0 = thread_seconds();
      c.run();
      benchmark::ClobberMemory();
      const double t1 = thread_seconds();
      benchmark::DoNotOptimize(pk.run(rounds, 1.5f));
      const double t2 = thread_seconds();
      state.SetIterationTime(t1 - t0);
      own += t1 - t0;
      loop += t2 - t1;
    }
    const auto n = static_cast<double>(state.iterations());
    state.counters["GFLOPs"] = c.flops() * n / own * 1e-9;
    state.counters["peak"] = pk.flops_per_round * static_cast<double>(rounds) * n / loop * 1e-9;
    state.counters["of_peak"] =
        (c.flops() / own) / (pk.flops_per_round * static_cast<double>(rounds) / loop);
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
