#include "codegen/phases.h"

#include <algorithm>
#include <array>
#include <set>

namespace kiln::codegen {

namespace {

using ir::Node;
using ir::NodeId;
using ir::Op;

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

} // namespace

std::optional<std::vector<Phase>> row_phases(const Schedule& sc) {
  if (!rows_stay_rows(sc.graph))
    return std::nullopt;
  // Row phases render row products and reductions; windows (convolution, pooling) do not fit.
  for (const Group& grp : sc.groups)
    if (grp.kind == Group::Kind::Window)
      return std::nullopt;
  std::optional<std::vector<Phase>> phase = classify(sc);
  if (!phase || !updates_keep_order(sc, *phase))
    return std::nullopt;
  if (std::find(phase->begin(), phase->end(), Phase::Row) == phase->end())
    return std::nullopt;
  return phase;
}

} // namespace kiln::codegen
