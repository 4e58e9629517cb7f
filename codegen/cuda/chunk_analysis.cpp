#include "codegen/cuda/chunk_analysis.h"

#include <algorithm>
#include <array>
#include <set>

#include "base/error.h"
#include "codegen/cuda/emitter.h"

namespace kiln::codegen::cuda {

namespace {

using ir::Node;
using ir::NodeId;
using ir::Op;

constexpr int64_t kSharedDefault = 44 * 1024;
constexpr int64_t kSharedOptIn = 96 * 1024;
constexpr int64_t kSharedOptInTensorCore = 160 * 1024;
constexpr int64_t kWarps = kBlock / 32; // warps of a chunk kernel block
constexpr int64_t kMaxTilesPerWarp = 8;
constexpr int64_t kStageBytes = 32 * 1024;

/** Shared memory for the chunk kernel: staged weights (or tensor-core stages), then one tile
 * per shared Row value. */
bool lay_out(const Schedule& sc, bool tf32, ChunkAnalysis& a) {
  const ir::Graph& g = sc.graph;
  a.staged.assign(sc.groups.size(), false);
  a.tensor_core.assign(sc.groups.size(), false);
  a.partial_offset.assign(sc.groups.size(), -1);
  int64_t stage = 0;
  bool any_tensor_core = false;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    const Group& grp = sc.groups[gi];
    const Node& n = g.node(grp.roots[0]);
    if (a.phase[gi] == Phase::Row && grp.kind == Group::Kind::MatMul) {
      const int64_t depth = g.node(n.inputs[0]).type.shape[1], cols = n.type.shape[1];
      if (tf32 && tensor_core_eligible(n.type.dtype, depth, cols)) {
        a.tensor_core[gi] = any_tensor_core = true;
        continue;
      }
      // B as [depth, cols] with a pitch of cols + 1 (conflict-free either way it is written).
      const int64_t bytes = depth * (cols + 1) * ir::dtype_bytes(n.type.dtype);
      a.staged[gi] = bytes <= kStageBytes;
      if (a.staged[gi])
        stage = std::max(stage, bytes);
    }
    if (a.phase[gi] == Phase::Reduce) {
      a.partial_offset[gi] = a.block_bytes;
      a.block_bytes +=
          (grp.domain.static_numel() * ir::dtype_bytes(n.type.dtype) + 15) & ~int64_t{15};
    }
  }
  a.block_bytes = (a.block_bytes + 255) & ~int64_t{255};
  // The tensor-core stage grows with the rows of a chunk.
  auto stage_at = [&](int64_t rows) {
    int64_t bytes = stage;
    for (size_t gi = 0; gi < sc.groups.size(); ++gi)
      if (a.tensor_core[gi]) {
        const Node& n = g.node(sc.groups[gi].roots[0]);
        bytes = std::max(
            bytes,
            tensor_core_stage(rows, g.node(n.inputs[0]).type.shape[1], n.type.shape[1]).bytes);
      }
    // Tensor-core tiles need 32-byte alignment; 128 keeps the tiles after the stage aligned too.
    return (bytes + 127) & ~int64_t{127};
  };
  std::set<NodeId> copied;
  for (const auto& [slot, node] : sc.output_copies)
    copied.insert(node);
  // Row values that only the chunk itself reads live in shared memory; outputs stay global.
  std::vector<int64_t> row_bytes(sc.slots.size(), 0);
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    const Slot& slot = sc.slots[s];
    if (slot.role != Slot::Role::Scratch || copied.count(slot.node))
      continue;
    const int grp = sc.group_of[slot.node];
    if (grp >= 0 && a.phase[static_cast<size_t>(grp)] == Phase::Row)
      row_bytes[s] = slot.type.shape.static_numel() * ir::dtype_bytes(slot.type.dtype);
  }
  // At least 16 rows per chunk, opting into more shared memory if need be, amortize staging
  // the weights; 8 rows is the last resort. Tensor cores may take what an A100 has (163 KiB).
  std::vector<std::pair<int64_t, int64_t>> tries = {{kSharedDefault, 64}, {kSharedDefault, 32},
                                                    {kSharedDefault, 16}, {kSharedOptIn, 16},
                                                    {kSharedDefault, 8},  {kSharedOptIn, 8}};
  if (any_tensor_core)
    tries.insert(tries.end(), {{kSharedOptInTensorCore, 32}, {kSharedOptInTensorCore, 16}});
  for (const auto& [budget, rows] : tries) {
    int64_t total = stage_at(rows);
    std::vector<int64_t> offset(sc.slots.size(), -1);
    for (size_t s = 0; s < sc.slots.size(); ++s) {
      if (row_bytes[s] == 0)
        continue;
      offset[s] = total;
      total += (rows * row_bytes[s] + 15) & ~int64_t{15};
    }
    if (total > budget)
      continue;
    a.rows = rows;
    a.shared_offset = std::move(offset);
    a.shared_bytes = total;
    return true;
  }
  return false;
}

} // namespace

TensorCoreStage tensor_core_stage(int64_t rows, int64_t depth, int64_t cols) {
  TensorCoreStage t;
  t.rows16 = (rows + 15) / 16 * 16;
  t.depth8 = (depth + 7) / 8 * 8;
  t.cols16 = (cols + 15) / 16 * 16;
  t.slice = std::min<int64_t>(t.depth8, 32);
  t.lda = t.slice + 4;
  t.ldb = t.cols16 + 4;
  t.ldc = t.cols16 + 4;
  t.b_offset = t.rows16 * t.lda;
  t.bytes = 4 * std::max(t.b_offset + t.slice * t.ldb, t.rows16 * t.ldc);
  t.tiles = (t.rows16 / 16) * (t.cols16 / 16);
  t.tiles_per_warp = (t.tiles + kWarps - 1) / kWarps;
  return t;
}

bool tensor_core_eligible(ir::DType dtype, int64_t depth, int64_t cols) {
  return dtype == ir::DType::F32 && depth >= 8 && cols >= 16 &&
         tensor_core_stage(64, depth, cols).tiles_per_warp <= kMaxTilesPerWarp;
}

std::optional<ChunkAnalysis> analyze_chunks(const Schedule& sc, bool tf32) {
  std::optional<std::vector<Phase>> phase = row_phases(sc);
  if (!phase)
    return std::nullopt;
  ChunkAnalysis a;
  a.phase = std::move(*phase);
  if (!lay_out(sc, tf32, a))
    return std::nullopt;
  return a;
}

} // namespace kiln::codegen::cuda
