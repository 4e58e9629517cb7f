#include "train/step.h"

#include "base/error.h"
#include "ir/autodiff.h"

namespace kiln {

namespace {

/** The leaves of `params` in `net`; throws kiln::Error naming one that is missing. */
std::vector<ir::NodeId> find_params(const ir::Graph& net, const std::vector<std::string>& params) {
  std::vector<ir::NodeId> wrt;
  for (const std::string& p : params) {
    const auto id = net.find_leaf(ir::Op::Param, p);
    if (!id)
      throw Error(str("[step] the network has no param named '", p, "'"));
    wrt.push_back(*id);
  }
  return wrt;
}

/**
 * Appends to `b` the optimizer's update of params[i] (node thetas[i]) from its gradient
 * grads[i], with the input "lr", the param "step" and the optimizer's state params, and returns
 * the outputs "new:<leaf>" and how they replace their leaves.
 */
StepGraph append_update(ir::Builder& b, const optim::Optimizer& optimizer,
                        const std::vector<std::string>& params,
                        const std::vector<ir::NodeId>& thetas, const std::vector<ir::NodeId>& grads,
                        ir::DType dtype) {
  StepGraph out;
  const ir::Type scalar{dtype, ir::Shape{}};
  const ir::Val lr(b, b.input("lr", scalar));
  const ir::Val step(b, b.param("step", scalar));
  const ir::Val next_step = step + 1.0;
  b.set_output("new:step", next_step.id());
  out.updates.push_back({"new:step", "step"});
  out.state.emplace_back("step", 0.0);
  const optim::UpdateCtx ctx{lr, next_step};
  const std::vector<optim::StateSpec> specs = optimizer.state();
  for (size_t i = 0; i < thetas.size(); ++i) {
    const ir::Val theta(b, thetas[i]);
    std::vector<ir::Val> state;
    for (const optim::StateSpec& s : specs) {
      const std::string name = params[i] + "." + s.name;
      state.emplace_back(b, b.param(name, theta.type()));
      out.state.emplace_back(name, s.init);
    }
    const std::vector<ir::Val> next = optimizer.update(ctx, theta, ir::Val(b, grads[i]), state);
    KILN_ASSERT(next.size() == 1 + specs.size(), "optimizer returned ", next.size(), " values");
    b.set_output("new:" + params[i], next[0].id());
    out.updates.push_back({"new:" + params[i], params[i]});
    for (size_t k = 0; k < specs.size(); ++k) {
      const std::string name = params[i] + "." + specs[k].name;
      b.set_output("new:" + name, next[k + 1].id());
      out.updates.push_back({"new:" + name, name});
    }
  }
  out.graph = b.graph();
  return out;
}

} // namespace

StepGraph build_step(const ir::Graph& net, const optim::Optimizer& optimizer,
                     const std::vector<std::string>& params, const std::string& loss) {
  ir::Builder b(net);
  const ir::NodeId loss_id = net.output(loss);
  const std::vector<ir::NodeId> wrt = find_params(net, params);
  const std::vector<ir::NodeId> grads = ir::append_gradients(b, loss_id, wrt);
  return append_update(b, optimizer, params, wrt, grads, net.node(loss_id).type.dtype);
}

SplitStep build_split_step(const ir::Graph& net, const optim::Optimizer& optimizer,
                           const std::vector<std::string>& params, const std::string& loss) {
  const ir::NodeId loss_id = net.output(loss);
  const ir::DType dtype = net.node(loss_id).type.dtype;
  const std::vector<ir::NodeId> wrt = find_params(net, params);
  SplitStep out;
  ir::Builder g(net);
  const std::vector<ir::NodeId> grads = ir::append_gradients(g, loss_id, wrt);
  for (size_t i = 0; i < params.size(); ++i)
    g.set_output("grad:" + params[i], grads[i]);
  out.gradients = g.graph();

  // The update reads each gradient as an input of its param's type.
  ir::Builder u;
  std::vector<ir::NodeId> thetas, inputs;
  for (size_t i = 0; i < params.size(); ++i) {
    const ir::Type t = net.node(wrt[i]).type;
    thetas.push_back(u.param(params[i], t));
    inputs.push_back(u.input("grad:" + params[i], t));
  }
  out.update = append_update(u, optimizer, params, thetas, inputs, dtype);
  return out;
}

} // namespace kiln
