#pragma once
// Internal to the CUDA renderer: whether a schedule fits the chunked plan (cuda_chunked.cpp),
// and where its values live under that plan.

#include <cstdint>
#include <optional>
#include <vector>

#include "codegen/schedule.h"

namespace kiln::codegen::cuda {

/** When a group runs under the chunked plan. */
enum class Phase : uint8_t {
  Pre,    ///< depends on no row: before the chunk kernel
  Row,    ///< domain [N, ...], row i reads only row i: inside the chunk kernel
  Reduce, ///< sums over rows: partial sums in the chunk kernel, the rest in a wave kernel
  Post,   ///< depends on Reduce results: in a wave kernel
};

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
  /** Dynamic shared bytes of the chunk kernel. */
  int64_t shared_bytes = 0;
  /** Per group: byte offset of a Reduce group's partial sums in a block's part of kiln_ws. */
  std::vector<int64_t> partial_offset;
  /** Bytes of one block's partial sums. */
  int64_t block_bytes = 0;
};

/**
 * The chunked plan's analysis of `sc`, or nullopt when the plan does not apply: a batch dim
 * anywhere but in front, an op that mixes rows, a Row group that reads a Reduce result, an
 * in-place update whose order against a read of its param would change, or chunk tiles that
 * do not fit in shared memory even 8 rows at a time.
 */
std::optional<ChunkAnalysis> analyze_chunks(const Schedule& sc);

} // namespace kiln::codegen::cuda
