// The direct convolution (codegen/cpu/conv.h) against the reference interpreter: the three
// products of the course's layers (two panels of output channels, rows split in equal tiles),
// zero padding (kernel rows that read only padding skipped), dilation, a ragged panel, a kernel
// of more than 14 taps (the weight gradient's tap blocks), fused epilogues, f32 and f64.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "codegen/cpu/renderer.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/val.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/executable.h"
#include "tests/codegen/cpu/run_kernel.h"
#include "tests/ir/random_bindings.h"
#include "tests/support/check_outputs.h"

using namespace kiln;
using namespace kiln::test;
using ir::Attrs;
using ir::DType;
using ir::kBatch;
using ir::Shape;
using ir::Val;

namespace {

using Ints = std::vector<int64_t>;

/** conv(x, w) + bias -> relu, and both gradients of sum(relu(...) * g), all three products. */
ir::Graph conv_layer(int64_t c, int64_t o, int64_t h, int64_t w, Ints kernel, const Attrs& a,
                     DType t) {
  ir::Builder b;
  const Val x{b, b.input("x", {t, Shape{kBatch, c, h, w}})};
  const Val k{b, b.param("w", {t, Shape{o, c / a.i_or("groups", 1), kernel[0], kernel[1]}})};
  const Val bias{b, b.param("bias", {t, Shape{o}})};
  const Val y = ir::relu(ir::conv2d(x, k, a) + ir::reshape(bias, Shape{o, 1, 1}));
  const Val g{b, b.input("g", y.type())};
  b.set_output("y", y.id());
  b.set_output("f", ir::sum_all(y * g).id());
  return ir::grad(b.graph(), "f", {"x", "w", "bias"});
}

void check(const ir::Graph& g, int64_t batch, DType t, int expect_direct) {
  Executable exe = Executable::compile(g, {.name = "conv", .cpu_units = 1});
  size_t direct = 0;
  for (size_t at = exe.kernel().source.find("direct convolution ("); at != std::string::npos;
       at = exe.kernel().source.find("direct convolution (", at + 1))
    ++direct;
  CHECK(direct == static_cast<size_t>(expect_direct));
  const ir::Bindings v = random_bindings(g, batch, 9);
  check_outputs(exe.run_tensors(v), ir::interpret(ir::optimize(g), v, ir::Precision::Native), g,
                t == DType::F32 ? 1e-4 : 1e-12, str("(", to_string(t), ") "));
}

} // namespace

TEST_CASE("direct convolution: the course's second layer, forward and both gradients") {
  // 32 -> 64 channels, 3 x 3 on 26 x 26: two panels of 32 output channels; rows of 24 pixels in
  // two tiles of 12 (forward), 26 in two of 13 (input gradient, dy padded by 2).
  check(conv_layer(32, 64, 26, 26, {3, 3}, {}, DType::F32), 2, DType::F32, 3);
}

TEST_CASE("direct convolution: padding, dilation, a ragged panel, a 5 x 5 kernel, f64") {
  for (DType t : {DType::F32, DType::F64}) {
    // 40 output channels: a full panel and a ragged one; 5 x 5 = 25 taps: two blocks of the
    // weight gradient; padding 2 x 1 with dilation 1 x 2 (the input gradient pads by 2 x 3).
    const Attrs a =
        Attrs().set("padding", Ints{2, 1}).set("dilation", Ints{1, 2}).set("stride", Ints{1, 1});
    check(conv_layer(3, 40, 11, 13, {5, 5}, a, t), 3, t, 3);
    // A single input channel, as the course's first layer.
    check(conv_layer(1, 8, 9, 7, {3, 3}, {}, t), 2, t, 3);
  }
}

TEST_CASE("direct convolution: strides and groups take the generic loops") {
  const Attrs strided = Attrs().set("stride", Ints{2, 1});
  check(conv_layer(4, 6, 9, 8, {3, 3}, strided, DType::F32), 2, DType::F32, 0);
  const Attrs grouped = Attrs().set("groups", 2);
  check(conv_layer(4, 6, 9, 8, {3, 3}, grouped, DType::F32), 2, DType::F32, 0);
}

TEST_CASE("direct convolution: images split over the pool's threads compute what one does") {
  const ir::Graph g =
      conv_layer(5, 36, 10, 9, {3, 3}, Attrs().set("padding", Ints{1, 1}), DType::F64);
  // 24 images of 0.29 MFLOP each: above codegen::kCpuParallelFlops, so the pool splits them.
  const ir::Bindings v = random_bindings(g, 24, 3);
  runtime::ThreadPool& pool = runtime::ThreadPool::instance();
  const int before = pool.threads();
  std::vector<ir::Tensor> one;
  for (int threads : {1, 2, 3, 4}) {
    INFO(threads << " threads");
    // A kernel splits its loops when compiled while the pool has more than one thread.
    pool.set_threads(threads);
    Executable exe = Executable::compile(g, {.name = "conv_threads", .cpu_units = 1});
    CHECK((exe.kernel().source.find("images over threads") != std::string::npos) == (threads > 1));
    const std::vector<ir::Tensor> out = exe.run_tensors(v);
    if (threads == 1) {
      one = out;
      continue;
    }
    for (size_t i = 0; i < one.size(); ++i) {
      INFO("output " << g.outputs()[i].name);
      // Per-image outputs are the same sums; the weight gradient adds the workers' sums last.
      CHECK(max_rel_error(out[i], one[i]) <= 1e-13);
    }
  }
  pool.set_threads(before);
}

TEST_CASE("direct convolution: the variant for hosts without AVX-512 gives the same results") {
  // Compiled as for an AVX2 host: 2-pixel tiles of 32-byte vectors, so the transposed stores and
  // dy's transposing copy work on 8 x 8 (f32) and 4 x 4 (f64) blocks, mostly past the tile.
  const std::vector<std::string> narrow{"-mno-avx512f"};
  for (DType t : {DType::F32, DType::F64}) {
    INFO(to_string(t));
    const ir::Graph g = ir::optimize(conv_layer(3, 40, 11, 13, {3, 3}, {}, t));
    const codegen::CpuKernel k = codegen::render_cpu(g);
    auto module =
        runtime::CpuJit::instance().compile(k.source, {.name = "conv_avx2", .extra_flags = narrow});
    auto* fn = module->function<void(long long, void* const*, void*)>(k.name);
    const int64_t batch = 2;
    const ir::Bindings v = random_bindings(g, batch, 5);
    const auto got = run_kernel(k, fn, v, batch, t);
    const std::vector<ir::Tensor> want = ir::interpret(g, v, ir::Precision::Native);
    REQUIRE(got.size() == want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      INFO("output " << got[o].first << "\n" << side_by_side(got[o].second, want[o]));
      CHECK(max_rel_error(got[o].second, want[o]) <= (t == DType::F32 ? 1e-4 : 1e-12));
    }
  }
}
