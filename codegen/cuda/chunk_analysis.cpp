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

bool leading_batch(const ir::Shape& s) {
  return s.rank() >= 1 && s[0] == ir::kBatch;
}

/** Every batch-shaped value has N as its only batch dim, in front; no op mixes rows. */
bool rows_stay_rows(const ir::Graph& g) {
  for (const Node& n : g.nodes()) {
    const auto& d = n.type.shape.dims();
    for (size_t i = 0; i < d.size(); ++i)
      if (d[i] == ir::kBatch && i != 0)
        return false;
    const bool batch_input = !n.inputs.empty() && leading_batch(g.node(n.inputs[0]).type.shape);
    if ((n.op == Op::Slice || n.op == Op::Concat) && batch_input && n.attrs.i("axis") == 0)
      return false;
  }
  return true;
}

/** Roots and params an expression reads through inline nodes. */
void reads_of(const Schedule& sc, NodeId n, std::set<NodeId>& roots, std::set<NodeId>& params) {
  for (NodeId in : sc.graph.node(n).inputs) {
    if (sc.storage[in] == Storage::Root)
      roots.insert(in);
    else if (sc.storage[in] == Storage::Inline)
      reads_of(sc, in, roots, params);
    else if (sc.graph.node(in).op == Op::Param)
      params.insert(in);
  }
}

struct Part {
  std::set<NodeId> roots, params;
};

/** What a group reads: [0] its accumulator (or all roots of a pointwise group), [1] its epilogue.
 */
std::array<Part, 2> group_reads(const Schedule& sc, const Group& grp) {
  std::array<Part, 2> p;
  for (size_t r = 0; r < grp.roots.size(); ++r) {
    Part& part = p[grp.kind != Group::Kind::Pointwise && r > 0 ? 1 : 0];
    reads_of(sc, grp.roots[r], part.roots, part.params);
  }
  for (NodeId r : grp.roots)
    p[1].roots.erase(r);
  return p;
}

std::optional<std::vector<Phase>> classify(const Schedule& sc) {
  const ir::Graph& g = sc.graph;
  std::vector<Phase> ph(sc.groups.size());
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    const Group& grp = sc.groups[gi];
    const Node& n = g.node(grp.roots[0]);
    if (leading_batch(grp.domain)) {
      ph[gi] = Phase::Row;
    } else if (grp.kind == Group::Kind::Reduce) {
      const Node& x = g.node(n.inputs[0]);
      ph[gi] = leading_batch(x.type.shape) && x.op != Op::Constant ? Phase::Reduce : Phase::Pre;
    } else if (grp.kind == Group::Kind::MatMul) {
      const bool ta = n.attrs.i("ta") != 0;
      ph[gi] =
          g.node(n.inputs[0]).type.shape[ta ? 0 : 1] == ir::kBatch ? Phase::Reduce : Phase::Pre;
    } else {
      ph[gi] = Phase::Pre;
    }
    const auto reads = group_reads(sc, grp);
    auto phases_read = [&](const Part& p) {
      std::set<Phase> s;
      for (NodeId r : p.roots)
        if (sc.group_of[r] != static_cast<int>(gi))
          s.insert(ph[static_cast<size_t>(sc.group_of[r])]);
      return s;
    };
    const std::set<Phase> main = phases_read(reads[0]), epilogue = phases_read(reads[1]);
    std::set<Phase> all = main;
    all.insert(epilogue.begin(), epilogue.end());
    if (ph[gi] == Phase::Pre &&
        (all.count(Phase::Row) || all.count(Phase::Reduce) || all.count(Phase::Post)))
      ph[gi] = Phase::Post;
    if (ph[gi] == Phase::Row && (all.count(Phase::Reduce) || all.count(Phase::Post)))
      return std::nullopt;
    if (ph[gi] == Phase::Reduce &&
        (main.count(Phase::Reduce) || main.count(Phase::Post) || epilogue.count(Phase::Row)))
      return std::nullopt;
    if (ph[gi] == Phase::Post && all.count(Phase::Row))
      return std::nullopt;
  }
  return ph;
}

/**
 * Whether moving the phases apart keeps every in-place param update ordered as before against
 * every read of that param: (group, part) positions before and after, compared pairwise.
 */
bool updates_keep_order(const Schedule& sc, const std::vector<Phase>& ph) {
  auto old_pos = [](size_t gi, int part) { return static_cast<int64_t>(gi) * 2 + part; };
  auto new_pos = [&](size_t gi, int part) {
    int phase = ph[gi] == Phase::Pre ? 0 : ph[gi] == Phase::Row ? 1 : 2;
    if (ph[gi] == Phase::Reduce)
      phase = part == 0 ? 1 : 2;
    return (static_cast<int64_t>(phase) * static_cast<int64_t>(sc.groups.size()) +
            static_cast<int64_t>(gi)) *
               2 +
           part;
  };
  for (size_t wg = 0; wg < sc.groups.size(); ++wg) {
    const Group& w = sc.groups[wg];
    for (size_t r = 0; r < w.roots.size(); ++r) {
      const int slot = sc.stored[w.roots[r]] ? sc.slot_of[w.roots[r]] : -1;
      if (slot < 0 || sc.slots[static_cast<size_t>(slot)].role != Slot::Role::Param)
        continue;
      const NodeId param = sc.slots[static_cast<size_t>(slot)].node;
      const int wpart = w.kind != Group::Kind::Pointwise && r > 0 ? 1 : 0;
      for (size_t xg = 0; xg < sc.groups.size(); ++xg) {
        const auto reads = group_reads(sc, sc.groups[xg]);
        for (int part = 0; part < 2; ++part) {
          if (!reads[static_cast<size_t>(part)].params.count(param) || (xg == wg && part == wpart))
            continue;
          const bool before = old_pos(xg, part) < old_pos(wg, wpart);
          if (before != (new_pos(xg, part) < new_pos(wg, wpart)))
            return false;
        }
      }
    }
  }
  return true;
}

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
  if (!rows_stay_rows(sc.graph))
    return std::nullopt;
  // The chunk kernel renders row products and reductions; windows stay per-group kernels.
  for (const Group& grp : sc.groups)
    if (grp.kind == Group::Kind::Window)
      return std::nullopt;
  std::optional<std::vector<Phase>> phase = classify(sc);
  if (!phase || !updates_keep_order(sc, *phase))
    return std::nullopt;
  if (std::find(phase->begin(), phase->end(), Phase::Row) == phase->end())
    return std::nullopt;
  ChunkAnalysis a;
  a.phase = std::move(*phase);
  if (!lay_out(sc, tf32, a))
    return std::nullopt;
  return a;
}

} // namespace kiln::codegen::cuda
