#include "codegen/cpu/row_block.h"

#include <algorithm>

#include "codegen/cpu/row_block_util.h"

namespace kiln::codegen {

using namespace row_block;

namespace {

/** Whether Row product `p` reads its weights the way the block loop does: a static B. */
bool row_product_fits(const ir::Graph& g, const Product& p) {
  return !p.ta && !g.node(p.b).type.shape.has_batch() && p.cols != ir::kBatch &&
         p.depth != ir::kBatch && p.cols * p.depth <= kMaxWeights;
}

/** Whether Reduce product `p` is a sum over rows of A^T B (a weight gradient). */
bool reduce_product_fits(const ir::Graph& g, const Product& p) {
  return p.ta && !p.tb && leading_batch(g.node(p.a).type.shape) &&
         leading_batch(g.node(p.b).type.shape) && p.rows * p.cols <= kMaxAccumulator;
}

/** Whether `n` (read by a flat epilogue at index (0, q)) is the element q of its value. */
bool flat_read(const Schedule& sc, const Group& grp, ir::NodeId n) {
  const ir::Graph& g = sc.graph;
  const ir::Node& node = g.node(n);
  if (node.type.shape != grp.domain)
    return false;
  if (sc.storage[n] != Storage::Inline)
    return true; // a buffer of the domain's shape, a constant or a root of this iteration
  if (node.op == ir::Op::Broadcast) {
    const ir::Shape& in = g.node(node.inputs[0]).type.shape;
    return !in.has_batch() && in.static_numel() == 1; // read at index 0 only
  }
  if (node.def().kind != ir::OpKind::Elementwise)
    return false;
  for (ir::NodeId x : node.inputs)
    if (!flat_read(sc, grp, x))
      return false;
  return true;
}

} // namespace

bool row_block::flat_result(const Schedule& sc, const Group& grp) {
  const ir::Shape& d = grp.domain;
  if (d.rank() != 2 || d.has_batch() || d[0] == 1 || d[1] == 1)
    return false;
  const int64_t lane = lanes(sc.graph.node(grp.roots[0]).type.dtype);
  const int64_t rows = d[0] * ((d[1] + lane - 1) / lane), flat = (d[0] * d[1] + lane - 1) / lane;
  if (flat >= rows)
    return false;
  for (size_t r = 1; r < grp.roots.size(); ++r)
    for (ir::NodeId x : sc.graph.node(grp.roots[r]).inputs)
      if (x != grp.roots[0] && !flat_read(sc, grp, x))
        return false;
  return true;
}

std::optional<RowBlockPlan> plan_row_block(const Schedule& sc, std::optional<int64_t> batch_hint) {
  std::optional<std::vector<Phase>> phase = row_phases(sc);
  if (!phase)
    return std::nullopt;
  const ir::Graph& g = sc.graph;
  for (const auto& [slot, node] : sc.output_copies)
    if (g.node(node).type.shape.has_batch())
      return std::nullopt;
  for (size_t gi = 0; gi < sc.groups.size(); ++gi) {
    const Group& grp = sc.groups[gi];
    if (grp.kind == Group::Kind::MatMul && (*phase)[gi] == Phase::Row &&
        !row_product_fits(g, product(g, grp.roots[0])))
      return std::nullopt;
    if (grp.kind == Group::Kind::MatMul && (*phase)[gi] == Phase::Reduce &&
        !reduce_product_fits(g, product(g, grp.roots[0])))
      return std::nullopt;
    if ((*phase)[gi] == Phase::Reduce &&
        (grp.domain.has_batch() || grp.domain.static_numel() > kMaxAccumulator))
      return std::nullopt;
  }
  RowBlockPlan plan;
  plan.phase = std::move(*phase);
  plan.local.assign(sc.slots.size(), false);
  int64_t row_bytes = 0;
  for (size_t s = 0; s < sc.slots.size(); ++s) {
    const Slot& slot = sc.slots[s];
    if (slot.role != Slot::Role::Scratch || !leading_batch(slot.type.shape))
      continue;
    plan.local[s] = true;
    row_bytes += slot.type.shape.static_numel() * ir::dtype_bytes(slot.type.dtype);
  }
  plan.rows =
      batch_hint && *batch_hint >= 1 && *batch_hint <= kMaxHintRows ? *batch_hint : kDefaultRows;
  plan.per_batch = batch_hint.has_value() || std::any_of(sc.slots.begin(), sc.slots.end(),
                                                         [](const Slot& s) { return s.written; });
  while (plan.rows > 1 && plan.rows * row_bytes > kMaxStackBytes)
    plan.rows = (plan.rows + 1) / 2;
  if (plan.rows * row_bytes > kMaxStackBytes)
    return std::nullopt;
  return plan;
}
std::string row_block_buffer_type(const Schedule& sc, const std::string& name) {
  const RowBlockArrayName a = row_block_array(name);
  if (a.kind == RowBlockArray::None)
    return "";
  const ir::DType dt = sc.graph.node(sc.groups[a.group].roots[0]).type.dtype;
  return c_type_of(dt) + "* __restrict";
}
} // namespace kiln::codegen
