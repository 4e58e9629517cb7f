#pragma once
// Internal to the CUDA renderer: whether a schedule fits the chunked plan (cuda_chunked.cpp),
// and where its values live under that plan.

#include <cstdint>
#include <optional>
#include <vector>

#include "codegen/phases.h"
#include "codegen/schedule.h"

namespace kiln::codegen::cuda {

// The phases (codegen/phases.h) under the chunked plan: Pre groups run before the chunk kernel,
// Row groups inside it, Reduce groups as partial sums in it and the rest in a wave kernel, Post
// groups in a wave kernel.

/** The phases of a schedule's groups and the memory layout of the chunk kernel. */
struct ChunkAnalysis {
  std::vector<Phase> phase; // per group
  /** Rows per chunk. */
  int64_t rows = 0;
  /** Per slot: byte offset of its chunk tile in shared memory (-1: the slot stays in device
   * memory). */
  std::vector<int64_t> shared_offset;
  /** Per group: a Row matmul whose B operand is staged in shared memory at offset 0. */
  std::vector<bool> staged;
  /** Per group: a Row matmul that runs on tensor cores in TF32 (see tensor_core_stage). */
  std::vector<bool> tensor_core;
  /** Dynamic shared bytes of the chunk kernel. */
  int64_t shared_bytes = 0;
  /** Per group: byte offset of a Reduce group's partial sums in a block's part of kiln_ws. */
  std::vector<int64_t> partial_offset;
  /** Bytes of one block's partial sums. */
  int64_t block_bytes = 0;
};

/**
 * The chunked plan's analysis of `sc`, or nullopt when the plan does not apply: no row phases
 * (codegen::row_phases), or chunk tiles that do not fit in shared memory even 8 rows at a time.
 */
std::optional<ChunkAnalysis> analyze_chunks(const Schedule& sc, bool tf32 = false);

/**
 * The shared-memory stage of a tensor-core Row matmul [rows, cols] = [rows, depth] x
 * [depth, cols], at offset 0: a slice of A and of B at a time (at most 32 deep), zero-padded to
 * whole 16 x 16 x 8 tiles, row-major with pitches slice + 4 and cols16 + 4 floats (so every
 * tile starts 32-byte aligned and rows fall on different banks); afterwards the product
 * overwrites it (pitch cols16 + 4).
 */
struct TensorCoreStage {
  int64_t rows16 = 0, depth8 = 0, cols16 = 0;
  /** Depth staged at a time: depth8, or 32 for deeper products. */
  int64_t slice = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  /** Offset of B in floats; the bytes of the whole stage. */
  int64_t b_offset = 0, bytes = 0;
  /** 16 x 16 output tiles, and how many each of the block's 8 warps computes at most. */
  int64_t tiles = 0, tiles_per_warp = 0;
};
TensorCoreStage tensor_core_stage(int64_t rows, int64_t depth, int64_t cols);

/** Whether a Row matmul of this shape and dtype goes to tensor cores when TF32 is asked for:
 *  f32, at least 8 deep and 16 wide (narrower products would be mostly padding), at most 8
 *  tiles per warp at 64 rows. */
bool tensor_core_eligible(ir::DType dtype, int64_t depth, int64_t cols);

} // namespace kiln::codegen::cuda
