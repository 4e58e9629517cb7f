#include "runtime/cpu/evaluate_chunks.h"

#include <algorithm>
#include <cmath>

#include "codegen/cpu/parallel.h"

namespace kiln::runtime {

namespace {

/** Flops per element of a group that is not a product (activations, sums, updates). */
constexpr double kPointwiseFlops = 10;
/** Chunks are whole blocks of the group-by-group evaluation (codegen/cpu/evaluate.cpp). */
constexpr int64_t kChunkQuantum = 256;

} // namespace

int64_t evaluate_chunk_rows(const codegen::Schedule& sc) {
  const ir::Graph& g = sc.graph;
  double per_row = 0;
  for (const codegen::Group& grp : sc.groups) {
    if (!grp.domain.has_batch())
      continue;
    const double elements = static_cast<double>(grp.domain.static_numel());
    const ir::Node& root = g.node(grp.roots[0]);
    if (grp.kind == codegen::Group::Kind::MatMul) {
      const ir::Node& a = g.node(root.inputs[0]);
      const int64_t depth = a.type.shape[root.attrs.i("ta") != 0 ? 0 : 1];
      per_row += 2.0 * elements * static_cast<double>(std::max<int64_t>(depth, 1));
    } else {
      per_row += kPointwiseFlops * elements;
    }
  }
  const double rows = std::ceil(codegen::kCpuParallelFlops / std::max(per_row, 1.0));
  const auto quanta = static_cast<int64_t>(std::ceil(rows / kChunkQuantum));
  return std::clamp<int64_t>(quanta, 1, int64_t{1} << 20) * kChunkQuantum;
}

} // namespace kiln::runtime
