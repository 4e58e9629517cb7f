#pragma once
// The graphs the CUDA tests render, compile and run: the op table as one graph, the course's
// networks (forward and backward), their training steps, and the benchmark's 64-wide MLP.

#include <string>
#include <utility>
#include <vector>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/passes.h"
#include "tests/support/op_table.h"
#include "train/optim.h"
#include "train/step.h"

namespace kiln::test {

/** All rows of the op table as one graph: outputs y<k> (the op) and gradients g<k>_<leaf>. */
inline std::pair<ir::Graph, ir::Bindings> op_table_graph(ir::DType t) {
  ir::Builder all;
  ir::Bindings values;
  for (size_t k = 0; k < op_table().size(); ++k) {
    const Row& row = op_table()[k];
    const RowGraph r = build(row, 10 + k, t);
    ir::Graph g = r.graph;
    if (taylor_applies(row))
      g = ir::grad(g, "f", r.float_leaves);
    const std::string prefix = "r" + std::to_string(k) + "_";
    std::vector<ir::NodeId> map(g.size());
    for (ir::NodeId i = 0; i < g.size(); ++i) {
      const ir::Node& n = g.node(i);
      std::vector<ir::NodeId> in;
      for (ir::NodeId x : n.inputs)
        in.push_back(map[x]);
      ir::Attrs attrs = n.attrs;
      if (n.op == ir::Op::Input || n.op == ir::Op::Param)
        attrs.set("name", prefix + n.name());
      const bool leaf = n.def().kind == ir::OpKind::Leaf;
      map[i] = all.make(n.op, in, attrs, leaf ? std::optional(n.type) : std::nullopt);
    }
    for (const ir::Output& o : g.outputs())
      all.set_output(prefix + o.name, map[o.id]);
    for (const auto& [name, v] : r.values)
      values.emplace(prefix + name, v);
  }
  return {all.graph(), values};
}

/** A network with its loss (and outputs) lowered, its param names and example data. */
struct CourseNet {
  std::string name;
  Lowered lowered;
  std::vector<std::string> params;
  ir::Bindings data; // inputs y and c at a small batch
};

inline std::vector<std::string> param_names(const Lowered& l) {
  std::vector<std::string> names;
  for (const ParamSpec& p : l.params)
    names.push_back(p.name);
  return names;
}

/** The course's networks: 1-14-10-1 regression (MSE), 2-14-10-3 classification, a residual net. */
inline std::vector<CourseNet> course_nets(ir::DType t) {
  std::vector<CourseNet> out;
  {
    nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                       nn::Linear(10, 1)};
    Input y{{1}, "y"};
    Target c{{1}, "c"};
    CourseNet n{
        "regression 1-14-10-1", lower({{"loss", mse(net(y), c)}, {"F", net(y)}}, t), {}, {}};
    n.data.emplace("y", ir::Tensor(t, {5, 1}, {-2.5, -1.0, 0.1, 1.7, 2.9}));
    n.data.emplace("c", ir::Tensor(t, {5, 1}, {-0.6, -0.8, 0.1, 1.0, 0.2}));
    out.push_back(std::move(n));
  }
  {
    nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                       nn::Linear(10, 3)};
    Input y{{2}, "y"};
    Labels c{3, "c"};
    CourseNet n{"classification 2-14-10-3",
                lower({{"loss", cross_entropy(net(y), c)}, {"acc", accuracy(net(y), c)}}, t),
                {},
                {}};
    n.data.emplace(
        "y",
        ir::Tensor(t, {6, 2}, {0.1, 2.0, -1.0, 0.5, 2.5, -2.2, 0.0, 0.0, 1.1, -0.3, -2.9, 2.8}));
    n.data.emplace("c", ir::Tensor(ir::DType::I32, {6}, {0, 1, 2, 2, 1, 0}));
    out.push_back(std::move(n));
  }
  {
    nn::Sequential net{nn::Linear(2, 8), nn::Residual(8), nn::Residual(8, nn::ReLU()),
                       nn::Dense(8, 4), nn::Linear(12, 2)};
    Input y{{2}, "y"};
    Target c{{2}, "c"};
    CourseNet n{
        "residual net with a dense block", lower({{"loss", least_squares(net(y), c)}}, t), {}, {}};
    n.data.emplace("y", ir::Tensor(t, {4, 2}, {0.3, -0.2, 1.5, 0.7, -1.1, 0.4, 2.0, -2.0}));
    n.data.emplace("c", ir::Tensor(t, {4, 2}, {0.5, 0.1, -0.3, 0.9, 1.2, -0.4, 0.0, 0.3}));
    out.push_back(std::move(n));
  }
  for (CourseNet& n : out)
    n.params = param_names(n.lowered);
  return out;
}

/**
 * A small CNN lowered for training (dropout on): 8x8 images, Conv2d(1, 4, 3) - ReLU - Conv2d(4, 6,
 * 3, padding 1) - ReLU - MaxPool2d(2) - Dropout(0.25) - Flatten - Linear(54, 3), cross-entropy;
 * its data holds 5 images, their labels and the dropout's step.
 */
inline CourseNet small_cnn(ir::DType t) {
  nn::Sequential net{nn::Unflatten(1, {1, 8, 8}), nn::Conv2d(1, 4, 3), nn::ReLU(),
                     nn::Conv2d(4, 6, 3, 1, 1),   nn::ReLU(),          nn::MaxPool2d(2),
                     nn::Dropout(0.25),           nn::Flatten(),       nn::Linear(54, 3)};
  Input y{{64}, "y"};
  Labels c{3, "c"};
  CourseNet n{"small CNN", lower({{"loss", cross_entropy(net(y), c)}}, t, true), {}, {}};
  std::vector<double> pixels(5 * 64), labels(5);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<double>((i * 37) % 101) / 50.0 - 1.0;
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = static_cast<double>(i % 3);
  n.data.emplace("y", ir::Tensor(t, {5, 64}, pixels));
  n.data.emplace("c", ir::Tensor(ir::DType::I32, {5}, labels));
  n.data.emplace("step", ir::Tensor(t, {}, {3.0}));
  n.params = param_names(n.lowered);
  return n;
}

/** The benchmark's MLP: `in` inputs, `hidden` ReLU layers of `width`, `out` outputs, MSE. */
inline Lowered relu_mlp(int64_t in, int64_t width, int hidden, int64_t out,
                        ir::DType t = ir::DType::F32) {
  std::vector<nn::Layer> layers{nn::Linear(in, width), nn::ReLU()};
  for (int h = 1; h < hidden; ++h) {
    layers.push_back(nn::Linear(width, width));
    layers.push_back(nn::ReLU());
  }
  layers.push_back(nn::Linear(width, out));
  nn::Sequential net(std::move(layers));
  Input y{{in}, "y"};
  Target c{{out}, "c"};
  return lower({{"loss", mse(net(y), c)}}, t);
}

/** The training step of `l` with Adam (forward, loss, backward and update in one graph),
    optimized as Executable::compile would before rendering. */
inline StepGraph adam_step(const Lowered& l, double lr = 1e-2) {
  optim::Adam adam(lr);
  StepGraph sg = build_step(l.graph, adam, param_names(l));
  sg.graph = ir::optimize(sg.graph);
  return sg;
}

} // namespace kiln::test
