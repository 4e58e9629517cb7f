#include "codegen/cpu/row_block.h"

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

} // namespace

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
  while (plan.rows > 1 && plan.rows * row_bytes > kMaxStackBytes)
    plan.rows = (plan.rows + 1) / 2;
  if (plan.rows * row_bytes > kMaxStackBytes)
    return std::nullopt;
  return plan;
}
std::string row_block_buffer_type(const Schedule& sc, const std::string& name) {
  const bool acc = name.starts_with("kiln_acc") && digits_after(name, 8);
  const bool bt = name.starts_with("kiln_bt") && digits_after(name, 7);
  if (!acc && !bt)
    return "";
  const size_t gi = std::stoul(name.substr(acc ? 8 : 7));
  const ir::DType dt = sc.graph.node(sc.groups[gi].roots[0]).type.dtype;
  return c_type_of(dt) + "* __restrict";
}
} // namespace kiln::codegen
