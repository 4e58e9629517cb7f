#include "train/problem.h"

#include <algorithm>

#include "base/error.h"

namespace kiln::train {

std::vector<std::string> ProblemGraphs::param_names() const {
  std::vector<std::string> names;
  for (const ParamSpec& p : params)
    names.push_back(p.name);
  return names;
}

namespace {

/** The loss as one expression: sum of weight * term, plus the regularizer. */
Expr total_loss(const Problem& p) {
  Expr total;
  for (const LossTerm& t : p.terms) {
    // A term of weight 1 enters as it is, so a one-term problem's loss is that term's graph.
    const Expr weighted = t.weight == 1.0 ? t.value : Expr(t.weight * t.value);
    total = total.defined() ? Expr(total + weighted) : weighted;
  }
  if (p.weight_decay > 0)
    total = total + nn::l2(p.regularized, p.weight_decay);
  return total;
}

/** The lowered params, those named in `order` first. */
std::vector<ParamSpec> ordered(const std::vector<ParamSpec>& lowered,
                               const std::vector<std::string>& order) {
  std::vector<ParamSpec> out;
  for (const std::string& name : order)
    for (const ParamSpec& p : lowered)
      if (p.name == name)
        out.push_back(p);
  for (const ParamSpec& p : lowered)
    if (std::find(order.begin(), order.end(), p.name) == order.end())
      out.push_back(p);
  return out;
}

} // namespace

ProblemGraphs build(const Problem& p) {
  if (p.terms.empty())
    throw Error("[train] the problem has no loss terms");
  Outputs outputs{{"loss", total_loss(p)}};
  if (p.terms.size() > 1)
    for (const LossTerm& t : p.terms)
      outputs.emplace_back("loss:" + t.name, t.value);
  outputs.insert(outputs.end(), p.metrics.begin(), p.metrics.end());
  const Lowered eval = lower(outputs, p.dtype);
  for (const auto& [name, e] : outputs) {
    const ir::Type t = eval.graph.node(eval.graph.output(name)).type;
    if (!t.shape.is_scalar())
      throw Error(
          str("[train] '", name, "' must be a scalar, got ", t, "; reduce it with mean or sum"));
  }

  ProblemGraphs g;
  g.params = ordered(eval.params, p.param_order);
  g.eval = eval.graph;
  if (!p.predictions.empty())
    g.predict = lower(p.predictions, p.dtype).graph;
  // The step is lowered for training (dropout draws masks), evaluation and prediction are not.
  if (p.optimizer) {
    const ir::Graph train_graph = lower(outputs, p.dtype, /*training=*/true).graph;
    if (p.split_step)
      g.split = build_split_step(train_graph, *p.optimizer, g.param_names());
    else
      g.step = build_step(train_graph, *p.optimizer, g.param_names());
  }
  if (!p.epoch_data.empty()) {
    codegen::EpochSpec epoch{p.epoch_data, {"loss"}};
    for (const auto& [name, e] : p.metrics)
      epoch.metrics.push_back(name);
    g.epoch = epoch;
  }
  return g;
}

Problem supervised(const nn::Layer& net, int64_t features, int64_t targets, const Loss& loss,
                   std::shared_ptr<optim::Optimizer> optimizer, double weight_decay) {
  const Input y{{features}, "y"};
  const Expr f = net(y);
  Problem p;
  if (loss.classification) {
    const Labels<> labels(targets, "c");
    p.terms.push_back({loss.name, loss.fn(f, labels)});
    p.metrics.emplace_back("acc", accuracy(f, labels));
  } else {
    p.terms.push_back({loss.name, loss.fn(f, Target{{targets}, "c"})});
  }
  p.regularized = net.parameters();
  p.weight_decay = weight_decay;
  p.predictions.emplace_back("F", f);
  p.optimizer = std::move(optimizer);
  p.epoch_data = {"y", "c"};
  return p;
}

} // namespace kiln::train
