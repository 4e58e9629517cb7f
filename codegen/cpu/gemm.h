#pragma once
// Large matrix products for the CPU target: a packed, cache-blocked, register-blocked GEMM
// rendered into the generated function, with the matmul group's epilogue (bias, activation,
// its derivative, an optimizer update) evaluated per tile while the tile is in L1, never as a
// separate pass over C; a weight gradient's (depth N) runs by rows over each block of columns
// once its partial sums (in L2) are final, so an optimizer update streams its arrays.
//
// The micro-kernel is written with GCC/Clang vector extensions, no intrinsics and no headers, so
// the same source compiles with the in-process Clang JIT and with g++ for ahead-of-time files.
// The preprocessor picks the tile for the target: 64-byte vectors with AVX-512, 32-byte ones
// with AVX, 16-byte ones otherwise; the packed layouts are the same for all. Blocking, sizes and
// measurements: bench/gemm/README.md.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "codegen/c_like.h"

namespace kiln::codegen {

/** A matrix product C[rows, cols] = op(A) op(B) of row-major operands, op = identity or ^T. */
struct MatmulDesc {
  ir::NodeId node = 0;
  ir::NodeId a = 0, b = 0;
  bool ta = false, tb = false;
  /** Dims of C and the inner dim; any may be ir::kBatch ("N"). */
  int64_t rows = 0, cols = 0, depth = 0;
  /** The product computed is the node's transpose (see transpose_matmul): the epilogue's index
      is (j, i). */
  bool swapped = false;
  ir::DType dtype = ir::DType::F32;
  /**
   * C expression of a `char*` to 64-byte aligned scratch memory of at least
   * gemm_workspace_bytes(desc) bytes that nothing else uses while the product runs.
   */
  std::string workspace;
  /** Threads that may share the product's rows (CpuOptions::threads). */
  int threads = 1;
};

/** The description of MatMul node `matmul` of `g` (workspace left empty). */
MatmulDesc describe_matmul(const ir::Graph& g, ir::NodeId matmul);

/**
 * C = op(A) op(B) as C^T = op(B)^T op(A)^T when that reads less memory: a batch of rows times a
 * large transposed weight (a wide layer's W^T, more than an L2's worth), which the GEMM would
 * otherwise pack whole every call. Its rows become the weight's (read in place, by slivers) and
 * the few batch rows the packed side. nullopt when it does not pay.
 */
std::optional<MatmulDesc> transpose_matmul(const MatmulDesc& d);

/** Whether (and from which batch size) the blocked GEMM beats the simple row loop. */
struct GemmPlan {
  bool blocked = false;
  /**
   * With a dynamic row count: the blocked GEMM pays off only when N >= min_batch, so the caller
   * renders `if (N >= min_batch) { blocked } else { simple }`. 0 when the blocked GEMM alone
   * serves every N (always with a depth of N).
   */
  int64_t min_batch = 0;
};

/**
 * The size rule (crossovers measured with bench/gemm): a transposed product (transpose_matmul) is
 * blocked from N >= 8 on; otherwise static cols of at least 16 and at least 8 rows, then
 * - static depth of at least 16: rows * cols * depth of at least 48^3, enough work per call to
 *   pay for packing B; a dynamic row count takes the blocked GEMM behind
 *   N >= min_batch = max(8, ceil(48^3 / (cols * depth))), and only when cols * depth >= 64^2;
 * - depth N (a weight gradient, summed over the batch) and static rows: rows * cols >= 2048; the
 *   blocked GEMM alone (min_batch 0): at most 0.2 us slower than the row loop at N < 4, faster
 *   from N = 8 on (2-7x at 1024).
 */
GemmPlan plan_gemm(const MatmulDesc& d);

/**
 * Workspace bytes the blocked GEMM of `d` needs: packed B, one A sliver, partial sums. Static,
 * for a dynamic depth too.
 */
int64_t gemm_workspace_bytes(const MatmulDesc& d);

/**
 * Renders the epilogue at C index `ij` ({i, j} as C expressions) where the product's value is
 * the C expression `value`. Runs inside a fresh ExprEmitter scope, once per element of C.
 */
using GemmEpilogue = std::function<void(const Index& ij, const std::string& value)>;

/**
 * The micro-kernels that rendered products call, by name: file-scope functions, one per element
 * type, layout of A and accumulation mode, shared by every product of a step that needs it (24
 * products of a physics-informed step call 2), so clang compiles each once instead of inlining
 * a copy of its unrolled body into every product.
 */
using GemmTiles = std::map<std::string, std::string>;

/**
 * Emits the blocked GEMM for `d` (plan_gemm(d).blocked must hold) as one C block (it calls
 * kiln_parallel, codegen/cpu/parallel.h, to split its rows over threads): pack B into
 * panels of NR columns, then for every sliver of MR rows and every panel, a register-resident
 * MR x NR tile over the depth (over depth blocks, with partial sums in the workspace, for deep
 * products and a depth of N), and `epilogue` at each element of the tile as soon as it is final
 * (with a depth of N, also for N = 0, on zeros). Operands are read through `e`
 * (ExprEmitter::value), or straight from their buffers, so any stored or leaf node works.
 */
void emit_blocked_matmul(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d,
                         const GemmEpilogue& epilogue, GemmTiles& tiles);

/**
 * The definitions of `tiles`, with the macros they and the products' loops use
 * (KILN_WIDE_VECTORS, KILN_ROLLED, KILN_ROLLED_VECTOR): placed before the step. "" when empty.
 */
std::string render_gemm_tiles(const GemmTiles& tiles);

} // namespace kiln::codegen
