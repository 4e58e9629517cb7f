#pragma once
// Random values for a graph's leaves, for tests that evaluate graphs with the interpreter.

#include <cstdint>
#include <vector>

#include "base/rng.h"
#include "ir/interpret.h"
#include "ir/node.h"

namespace kiln::test {

/** A tensor of `dims` with entries uniform in [lo, hi). */
inline ir::Tensor random_tensor(ir::DType dtype, std::vector<int64_t> dims, Rng& rng,
                                double lo = -1.0, double hi = 1.0) {
  ir::Tensor t(dtype, std::move(dims));
  for (double& v : t.data)
    v = rng.uniform(lo, hi);
  return t;
}

/**
 * Values for every input and param of `g` at batch size `batch`: floats uniform in [-1, 1),
 * integer leaves (labels) uniform in [0, classes).
 */
inline ir::Bindings random_bindings(const ir::Graph& g, int64_t batch, uint64_t seed,
                                    uint32_t classes = 2) {
  Rng rng(seed);
  ir::Bindings out;
  for (const ir::Node& n : g.nodes()) {
    if (n.op != ir::Op::Input && n.op != ir::Op::Param)
      continue;
    ir::Tensor t = random_tensor(n.type.dtype, n.type.shape.concrete(batch), rng);
    if (!ir::is_float(n.type.dtype))
      for (double& v : t.data)
        v = rng.below(classes);
    out.emplace(n.name(), std::move(t));
  }
  return out;
}

} // namespace kiln::test
