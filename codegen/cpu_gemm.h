#pragma once
// Large matrix products for the CPU target: a packed, cache-blocked, register-blocked GEMM
// rendered into the generated function, with the matmul group's epilogue (bias, activation,
// its derivative, an optimizer update) evaluated per tile while the tile is in L1, never as a
// separate pass over C.
//
// The micro-kernel is written with GCC/Clang vector extensions (64-byte vectors), so the same
// source compiles with the in-process Clang JIT and with g++ for ahead-of-time files; on a host
// without AVX-512 the vectors lower to AVX2 (or SSE) and a shorter tile is selected by the
// preprocessor, so the result stays correct (and reasonably fast) everywhere.

#include <cstdint>
#include <functional>
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
  ir::DType dtype = ir::DType::F32;
  /**
   * C expression of a `char*` to 64-byte aligned scratch memory of at least
   * gemm_workspace_bytes(desc) bytes that nothing else uses while the product runs.
   */
  std::string workspace;
};

/** The description of MatMul node `matmul` of `g` (workspace left empty). */
MatmulDesc describe_matmul(const ir::Graph& g, ir::NodeId matmul);

/** Whether (and from which batch size) the blocked GEMM beats the simple row loop. */
struct GemmPlan {
  bool blocked = false;
  /**
   * With a dynamic row count: the blocked GEMM pays off only when N >= min_rows, so the caller
   * renders `if (N >= min_rows) { blocked } else { simple }`. 0 when the rule holds for every N.
   */
  int64_t min_rows = 0;
};

/**
 * The size rule: the blocked GEMM needs static cols and depth and enough work per call to pay
 * for packing B (rows * cols * depth of about 48^3 and more, measured on AVX-512 with
 * bench/gemm).
 */
GemmPlan plan_gemm(const MatmulDesc& d);

/** Workspace bytes the blocked GEMM of `d` needs (packed B panel and one packed A sliver). */
int64_t gemm_workspace_bytes(const MatmulDesc& d);

/**
 * Renders the epilogue at C index `ij` ({i, j} as C expressions) where the product's value is
 * the C expression `value`. Runs inside a fresh ExprEmitter scope, once per element of C.
 */
using GemmEpilogue = std::function<void(const Index& ij, const std::string& value)>;

/**
 * Emits the blocked GEMM for `d` (plan_gemm(d).blocked must hold) as one C block: pack B into
 * panels of NR columns, then for every sliver of MR rows and every panel, a register-resident
 * MR x NR tile over the whole depth followed by `epilogue` at each element of the tile. Operands
 * are read through `e` (ExprEmitter::value), so any stored or leaf node works.
 */
void emit_blocked_matmul(CodeWriter& w, ExprEmitter& e, const MatmulDesc& d,
                         const GemmEpilogue& epilogue);

} // namespace kiln::codegen
