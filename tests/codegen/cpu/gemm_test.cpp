// The blocked GEMM of large matrix products (codegen/cpu/gemm.h) against the reference
// interpreter: every transpose combination, tile-multiple and ragged sizes, several B panels, a
// dynamic row count on both sides of the size rule, a dynamic depth (weight gradients) in ragged
// blocks, fused epilogues with one and two outputs, f32 and f64, and the narrow-vector variant
// taken on hosts without AVX-512.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include "base/rng.h"
#include "codegen/cpu/gemm.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/val.h"
#include "runtime/cpu/cpu_jit.h"
#include "runtime/executable.h"
#include "tests/codegen/cpu/run_kernel.h"
#include "tests/support/check_outputs.h"
#include "tests/support/text.h"

using namespace kiln;
using namespace kiln::test;
using ir::DType;
using ir::kBatch;
using ir::Shape;
using ir::Val;

namespace {

double tolerance(DType t) {
  return t == DType::F32 ? 2e-5 : 1e-12;
}

/** C[rows, cols] = op(A) op(B) over `depth`, with rows possibly kBatch. */
struct Product {
  int64_t rows, cols, depth;
  bool ta = false, tb = false;
};

enum class Epilogue { None, BiasTanh, TwoOutputs };

/** Adds `p` to `b`: leaves a<tag>, b<tag> (bias<tag>), outputs c<tag> (u<tag>). */
void add_product(ir::Builder& b, const Product& p, DType t, Epilogue epi, const std::string& tag) {
  const Shape as = p.ta ? Shape{p.depth, p.rows} : Shape{p.rows, p.depth};
  const Shape bs = p.tb ? Shape{p.cols, p.depth} : Shape{p.depth, p.cols};
  const Val A{b, b.input("a" + tag, {t, as})};
  const Val B{b, b.param("b" + tag, {t, bs})};
  const Val C = ir::matmul(A, B, p.ta, p.tb);
  if (epi == Epilogue::None) {
    b.set_output("c" + tag, C.id());
    return;
  }
  const Val bias{b, b.param("bias" + tag, {t, Shape{p.cols}})};
  b.set_output("c" + tag, ir::tanh(C + bias).id());
  // A second output of the same tile: its derivative-like companion, as a backward pass has.
  if (epi == Epilogue::TwoOutputs)
    b.set_output("u" + tag, (ir::sigmoid(C) * C - bias).id());
}

/**
 * Adds a gradient-like product G[rows, cols] = op(A) op(B) whose depth is the batch (inputs
 * a<tag>, b<tag>; `computed_b` multiplies B by its sigmoid first, so the GEMM reads a scratch
 * buffer, as it reads dZ in a backward pass) and an optimizer-like update from it: outputs
 * m<tag> = 0.9 m + 0.1 G and w<tag> = w - m / sqrt(G^2 + 1) of params w<tag>, m<tag>.
 */
void add_gradient(ir::Builder& b, const Product& p, DType t, bool computed_b,
                  const std::string& tag) {
  const Shape as = p.ta ? Shape{kBatch, p.rows} : Shape{p.rows, kBatch};
  const Shape bs = p.tb ? Shape{p.cols, kBatch} : Shape{kBatch, p.cols};
  const Val A{b, b.input("a" + tag, {t, as})};
  Val B{b, b.input("b" + tag, {t, bs})};
  if (computed_b)
    B = B * ir::sigmoid(B);
  const Val G = ir::matmul(A, B, p.ta, p.tb);
  const Val W{b, b.param("w" + tag, {t, Shape{p.rows, p.cols}})};
  const Val M{b, b.param("m" + tag, {t, Shape{p.rows, p.cols}})};
  const Val m = 0.9 * M + 0.1 * G;
  b.set_output("m" + tag, m.id());
  b.set_output("w" + tag, (W - m / ir::sqrt(G * G + 1.0)).id());
}

/** Uniform values in [-1, 1] for every leaf of `g`, with `batch` for N. */
ir::Bindings random_values(const ir::Graph& g, int64_t batch, uint64_t seed) {
  ir::Bindings v;
  Rng rng(seed);
  for (ir::Op op : {ir::Op::Input, ir::Op::Param})
    for (ir::NodeId id : g.leaves(op)) {
      const ir::Type& type = g.node(id).type;
      ir::Tensor x(type.dtype, type.shape.concrete(batch));
      for (double& e : x.data)
        e = rng.uniform(-1, 1);
      v.emplace(g.node(id).name(), std::move(x));
    }
  return v;
}

/** Runs `exe` on `values` and checks every output against the interpreter. */
void check(Executable& exe, const ir::Graph& g, const ir::Bindings& values, DType t) {
  check_outputs(exe.run_tensors(values),
                ir::interpret(ir::optimize(g), values, ir::Precision::Native), g, tolerance(t));
}

} // namespace

TEST_CASE(
    "blocked GEMM: every transpose combination, on and off the tile grid, equals the interpreter") {
  // 61 x 45 is off the grid of 14 x 32 (f32) or 14 x 16 (f64) tiles in both dims; 56 x 64 is on
  // it. 300 columns take several B panels. Rows of 4 KiB (depth 1024 in f32, 512 in f64) would
  // alias in L1, so A's rows are copied, block by block, rather than read in place. Depths over 2
  // KiB per row are summed in blocks (ragged ones here), and 130 rows take two blocks of partial
  // sums.
  for (DType t : {DType::F32, DType::F64}) {
    const int64_t deep = t == DType::F32 ? 1100 : 600;
    std::vector<Product> products;
    for (int combo = 0; combo < 4; ++combo)
      products.push_back({61, 45, 70, (combo & 1) != 0, (combo & 2) != 0});
    products.push_back({56, 64, 64});
    products.push_back({17, 300, t == DType::F32 ? 512 : 256, false, true});
    products.push_back({20, 40, t == DType::F32 ? 1024 : 512});
    products.push_back({130, 45, deep});
    products.push_back({130, 45, deep, true, true});
    ir::Builder b;
    for (size_t n = 0; n < products.size(); ++n)
      add_product(b, products[n], t, Epilogue::None, std::to_string(n));
    const ir::Graph g = b.graph();
    INFO(to_string(t));
    Executable exe =
        Executable::compile(g, {.name = "gemm_grid", .cpu_units = 1}); // one text to inspect
    CHECK(count(exe.kernel().source, "blocked GEMM") == products.size());
    // The three products with ta; the one with 4 KiB rows copies them.
    CHECK(count(exe.kernel().source, "A packed") == 3);
    CHECK(count(exe.kernel().source, "A copied by rows") == 1);
    CHECK(count(exe.kernel().source, "in blocks of") == 3);
    // One micro-kernel per layout of A (packed, or rows 70, 64, 512 or `deep` apart in place, or
    // copied 1 KiB apart), mode (one
    // pass, or adding to partial sums) and row count, shared by the products that need it: 7 for
    // 9. The AVX-512 tile's rows split a static row count evenly: 61 rows as 5 x 13 (not 4 x 14
    // and 5), 17 as 2 x 9, 20 as 2 x 10, 130 as 10 x 13; 56 keeps 4 x 14.
    CHECK(count(exe.kernel().source, "static void kiln_tile_") == 7);
    for (const char* rows : {"tile (13 rows", "tile (9 rows", "tile (10 rows", "tile (14 rows"})
      CHECK(exe.kernel().source.find(rows) != std::string::npos);
    check(exe, g, random_values(g, 1, 7), t);
  }
}

TEST_CASE(
    "blocked GEMM: a dynamic row count, on both sides of the size rule, with a fused epilogue") {
  for (DType t : {DType::F32, DType::F64}) {
    ir::Builder b;
    add_product(b, {kBatch, 64, 64}, t, Epilogue::BiasTanh, "0");
    add_product(b, {kBatch, 80, 60, false, true}, t, Epilogue::TwoOutputs, "1");
    add_product(b, {kBatch, 70, 66, true, false}, t, Epilogue::BiasTanh, "2");
    add_product(b, {kBatch, 20, t == DType::F32 ? 600 : 300}, t, Epilogue::TwoOutputs, "3");
    // A repeated layer: the same code up to buffer names, so one shared function (the tiles are
    // file-scope functions, not part of the blocks), called with each layer's buffers.
    add_product(b, {kBatch, 64, 64}, t, Epilogue::BiasTanh, "4");
    // Rows of 4 KiB, copied per depth block.
    add_product(b, {kBatch, 40, t == DType::F32 ? 1024 : 512}, t, Epilogue::None, "5");
    const ir::Graph g = b.graph();
    Executable exe =
        Executable::compile(g, {.name = "gemm_batch", .cpu_units = 1}); // one text to inspect
    REQUIRE(count(exe.kernel().source, "blocked GEMM") == 6); // comments stay at the calls
    CHECK(count(exe.kernel().source, "in blocks of") == 2);
    CHECK(count(exe.kernel().source, "A copied by rows") == 1);
    // A short last sliver of rows read in place or copied (not packed: product 2) takes the
    // 4-row tail tile once or twice: batches 29, 33, 36 and 141 end in 1, 5, 8 and 1 rows.
    CHECK(count(exe.kernel().source, "static void kiln_tile_") == 9);
    CHECK(count(exe.kernel().source, "_rows4(const") == 4);
    CHECK(count(exe.kernel().source, "// Shared by 2 groups of this step.") == 1);
    // The rule switches to the blocked GEMM at N = max(8, ceil(48^3 / (cols * depth))), here in
    // the shared function, whose first parameter is N.
    CHECK(exe.kernel().source.find("if (P0 >= 27)") != std::string::npos);
    for (int64_t batch : {1, 13, 26, 27, 29, 33, 36, 100, 141}) {
      INFO(to_string(t) << " batch " << batch);
      check(exe, g, random_values(g, batch, static_cast<uint64_t>(batch)), t);
    }
  }
}

TEST_CASE("blocked GEMM: a batch times a large transposed weight runs transposed, in place") {
  // x W^T with W [300, 1100] (1.3 MB in f32): computed as (W x^T)^T, W read by slivers, so the
  // batch is the product's dynamic column count, in panels of one tile (ragged at 45 and 70).
  for (DType t : {DType::F32, DType::F64}) {
    ir::Builder b;
    add_product(b, {kBatch, 300, 1100, false, true}, t, Epilogue::TwoOutputs, "0");
    const ir::Graph g = b.graph();
    Executable exe = Executable::compile(g, {.name = "gemm_transposed", .cpu_units = 1});
    REQUIRE(count(exe.kernel().source, "blocked GEMM") == 1);
    CHECK(exe.kernel().source.find("if (N >= 8)") != std::string::npos);
    for (int64_t batch : {3, 8, 32, 45, 70}) {
      INFO(to_string(t) << " batch " << batch);
      check(exe, g, random_values(g, batch, static_cast<uint64_t>(batch)), t);
    }
  }
}

TEST_CASE("blocked GEMM: a depth of N, in ragged blocks, with an optimizer-like epilogue") {
  // Three transpose combinations on a 45 x 100 gradient (3 slivers of 14 rows and a short one, 3
  // panels of 32 columns and a narrow one), the fourth on a 28 x 600 one (two blocks of columns),
  // one of them again (a repeated layer: the same code up to buffer names, which must stay apart)
  // and, under the size rule, a 12 x 100 one on the row loop. Depth blocks take 256 values (f32)
  // or 128 (f64): batches of 255, 257 and 513 end in ragged ones. N = 0 still runs the update, on
  // a zero gradient.
  for (DType t : {DType::F32, DType::F64}) {
    ir::Builder b;
    add_gradient(b, {45, 100, kBatch, true, false}, t, true, "0");
    add_gradient(b, {12, 100, kBatch, true, false}, t, false, "1");
    if (t == DType::F32) {
      add_gradient(b, {45, 100, kBatch, false, false}, t, false, "2");
      add_gradient(b, {45, 100, kBatch, true, true}, t, false, "3");
      add_gradient(b, {28, 600, kBatch, false, true}, t, true, "4");
      add_gradient(b, {45, 100, kBatch, false, false}, t, false, "5");
    }
    const ir::Graph g = b.graph();
    Executable exe =
        Executable::compile(g, {.name = "gemm_depth", .cpu_units = 1}); // one text to inspect
    const std::string& source = exe.kernel().source;
    CHECK(count(source, "depth N in blocks of") == (t == DType::F32 ? 5 : 1));
    CHECK(count(source, "if (N >= ") == 0);
    for (int64_t batch : {0, 1, 7, 255, 256, 257, 513}) {
      INFO(to_string(t) << " batch " << batch);
      check(exe, g, random_values(g, batch, static_cast<uint64_t>(batch) + 5), t);
    }
  }
}

TEST_CASE("blocked GEMM: the size rule keeps small and thin products on the row loop") {
  const codegen::MatmulDesc small{.rows = 8, .cols = 8, .depth = 8};
  CHECK_FALSE(codegen::plan_gemm(small).blocked);
  const codegen::MatmulDesc thin{.rows = 4096, .cols = 4, .depth = 256};
  CHECK_FALSE(codegen::plan_gemm(thin).blocked);
  const codegen::MatmulDesc dynamic_cols{.rows = 256, .cols = kBatch, .depth = 256};
  CHECK_FALSE(codegen::plan_gemm(dynamic_cols).blocked);
  // A narrow layer with a dynamic batch keeps only the row loop (compile time).
  const codegen::MatmulDesc narrow_batch{.rows = kBatch, .cols = 32, .depth = 32};
  CHECK_FALSE(codegen::plan_gemm(narrow_batch).blocked);
  const codegen::MatmulDesc big{.rows = 1024, .cols = 256, .depth = 256};
  CHECK(codegen::plan_gemm(big).blocked);
  CHECK(codegen::plan_gemm(big).min_batch == 0);
  const codegen::MatmulDesc batch{.rows = kBatch, .cols = 256, .depth = 256};
  CHECK(codegen::plan_gemm(batch).blocked);
  CHECK(codegen::plan_gemm(batch).min_batch == 8);
  // A depth of N: gradients of at least 2048 elements (a classifier's 10 x 256 too) are blocked
  // at every batch size, with no row loop; smaller or thinner ones keep the row loop.
  using Dims = std::vector<std::pair<int64_t, int64_t>>;
  for (auto [rows, cols] : Dims{{256, 256}, {10, 256}, {32, 64}}) {
    const codegen::MatmulDesc gradient{.rows = rows, .cols = cols, .depth = kBatch};
    CHECK(codegen::plan_gemm(gradient).blocked);
    CHECK(codegen::plan_gemm(gradient).min_batch == 0);
  }
  for (auto [rows, cols] : Dims{{32, 32}, {4, 1024}, {1024, 8}}) {
    const codegen::MatmulDesc gradient{.rows = rows, .cols = cols, .depth = kBatch};
    CHECK_FALSE(codegen::plan_gemm(gradient).blocked);
  }
  const codegen::MatmulDesc all_batch{.rows = kBatch, .cols = 256, .depth = kBatch};
  CHECK_FALSE(codegen::plan_gemm(all_batch).blocked);
}

TEST_CASE("blocked GEMM: the variant for hosts without AVX-512 gives the same products") {
  // Same source, compiled as for an AVX2 host: the tile takes 2 rows of 32-byte vectors.
  const std::vector<std::string> narrow{"-mno-avx512f"};
  auto probe =
      runtime::CpuJit::instance().compile("extern \"C\" int kiln_wide() {\n#ifdef "
                                          "__AVX512F__\nreturn 1;\n#else\nreturn 0;\n#endif\n}\n",
                                          {.name = "gemm_avx2_probe", .extra_flags = narrow});
  REQUIRE(probe->function<int()>("kiln_wide")() == 0);
  for (DType t : {DType::F32, DType::F64}) {
    ir::Builder b;
    add_product(b, {kBatch, 65, 70, t == DType::F64, true}, t, Epilogue::TwoOutputs, "0");
    if (t == DType::F32) {
      add_product(b, {kBatch, 64, 64, true, false}, t, Epilogue::None, "1");
      add_gradient(b, {45, 100, kBatch, true, false}, t, false, "2");
    }
    const ir::Graph g = ir::optimize(b.graph());
    const codegen::CpuKernel k = codegen::render_cpu(g);
    REQUIRE(count(k.source, "blocked GEMM") == (t == DType::F32 ? 3 : 1));
    auto module =
        runtime::CpuJit::instance().compile(k.source, {.name = "gemm_avx2", .extra_flags = narrow});
    auto* fn = module->function<void(long long, void* const*, void*)>(k.name);

    // Ragged for 2- and 3-row slivers, and two depth blocks (256 + 45) of the gradient.
    const int64_t batch = 301;
    const ir::Bindings values = random_values(g, batch, 3);
    const auto got = run_kernel(k, fn, values, batch, t);
    const std::vector<ir::Tensor> want = ir::interpret(g, values, ir::Precision::Native);
    REQUIRE(got.size() == want.size());
    for (size_t o = 0; o < got.size(); ++o) {
      INFO(to_string(t) << " output " << got[o].first << "\n"
                        << side_by_side(got[o].second, want[o]));
      CHECK(max_rel_error(got[o].second, want[o]) <= tolerance(t));
    }
  }
}
