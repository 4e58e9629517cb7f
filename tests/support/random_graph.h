#pragma once
// Random graphs for testing codegen: random ops (elementwise, broadcasts, reductions, movement,
// matmuls, indexing) on random operands, with a loss and its gradient. Ops that could leave
// their domain are wrapped (log(1 + x^2), ...), so every value is finite.

#include <string>
#include <vector>

#include "base/error.h"
#include "base/rng.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/val.h"

namespace kiln::test {

struct RandomGraph {
  ir::Graph graph;
  ir::Bindings values;
};

inline RandomGraph random_graph(uint64_t seed, ir::DType t, int ops = 14) {
  using namespace kiln::ir;
  Builder b;
  Rng rng(seed);
  RandomGraph out;
  const int64_t batch = 2 + static_cast<int64_t>(rng.below(5));
  std::vector<Val> pool, floats;
  auto leaf = [&](bool param, const std::string& name, Shape s) {
    const Type type{t, s};
    const Val v(b, param ? b.param(name, type) : b.input(name, type));
    Tensor x(t, s.concrete(batch));
    for (double& e : x.data)
      e = rng.uniform(-1.5, 1.5);
    out.values.emplace(name, std::move(x));
    pool.push_back(v);
    floats.push_back(v);
    return v;
  };
  leaf(false, "x", Shape{kBatch, 4});
  leaf(false, "z", Shape{kBatch, 3});
  leaf(true, "w", Shape{3, 4});
  leaf(true, "v", Shape{4});
  const Val labels(b, b.input("c", Type{DType::I32, Shape{kBatch}}));
  Tensor c(DType::I32, {batch});
  for (double& e : c.data)
    e = rng.below(4);
  out.values.emplace("c", std::move(c));

  auto pick = [&] { return pool[rng.below(static_cast<uint32_t>(pool.size()))]; };
  int made = 0;
  for (int attempt = 0; attempt < 400 && made < ops; ++attempt) {
    const Val a = pick(), bb = pick();
    try {
      Val r;
      switch (rng.below(17)) {
      case 0:
        r = exp(tanh(a));
        break;
      case 1:
        r = log(1.0 + square(a));
        break;
      case 2:
        r = sqrt(0.5 + square(a));
        break;
      case 3:
        r = rng.below(2) ? sigmoid(a) : relu(a) - 0.5 * abs(a);
        break;
      case 4:
        r = rng.below(2) ? sin(a) * cos(bb) : erf(a);
        break;
      case 5:
        r = a + bb;
        break;
      case 6:
        r = a * bb - bb;
        break;
      case 7:
        r = a / (1.0 + square(bb));
        break;
      case 8:
        r = rng.below(2) ? maximum(a, bb) : minimum(a, bb);
        break;
      case 9:
        r = select(greater(a, bb), a, -bb);
        break;
      case 10: {
        std::vector<int64_t> axes;
        for (int d = 0; d < a.rank(); ++d)
          if (rng.below(2))
            axes.push_back(d);
        if (axes.empty())
          continue;
        const uint32_t k = rng.below(3);
        r = k == 0 ? sum(a, axes) : k == 1 ? mean(a, axes) : max(a, axes);
        break;
      }
      case 11:
        r = matmul(a, bb, rng.below(2) == 1, rng.below(2) == 1);
        break;
      case 12:
        if (a.rank() != 2)
          continue;
        r = transpose(a);
        break;
      case 13: {
        const Val parts[] = {a, bb};
        r = concat(parts, a.rank() - 1);
        break;
      }
      case 14: {
        if (a.rank() < 1)
          continue;
        const int64_t last = a.shape()[a.rank() - 1];
        if (last < 2)
          continue;
        r = slice(a, a.rank() - 1, 1, last);
        break;
      }
      case 15:
        if (a.shape() != Shape{kBatch, 4})
          continue;
        r = rng.below(2) ? gather(a, labels) : a * one_hot(labels, 4, t);
        break;
      case 16:
        if (a.shape() != Shape{kBatch, 4})
          continue;
        r = reshape(a, Shape{kBatch, 2, 2});
        break;
      }
      pool.push_back(r);
      ++made;
    } catch (const ShapeError&) {
      // operands that do not fit this op: try another draw
    }
  }
  // Outputs: the last few values, and a loss whose gradient exercises every derivative rule.
  Val loss = constant(b, 0.0, Type{t, Shape{}});
  for (size_t k = pool.size() - 3; k < pool.size(); ++k) {
    b.set_output("out" + std::to_string(k), pool[k].id());
    loss = loss + sum_all(square(pool[k]));
  }
  b.set_output("loss", loss.id());
  std::vector<NodeId> wrt;
  for (const Val& f : floats)
    wrt.push_back(f.id());
  const std::vector<NodeId> grads = append_gradients(b, loss.id(), wrt);
  for (size_t k = 0; k < grads.size(); ++k)
    b.set_output("grad_" + b.node(floats[k].id()).name(), grads[k]);
  out.graph = b.graph();
  return out;
}

} // namespace kiln::test
