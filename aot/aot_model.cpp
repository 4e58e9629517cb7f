#include "aot/aot_model.h"

#include <cmath>

#include "base/error.h"
#include "frontend/lower.h"
#include "io/safetensors.h"
#include "ir/passes.h"
#include "train/problem.h"

namespace kiln::aot::detail {

namespace {

bool is_c_identifier(const std::string& s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9'))
    return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

void check_spec(const AotSpec& spec) {
  if (!is_c_identifier(spec.name))
    throw Error(
        str("[aot] name '", spec.name,
            "' is not a C identifier: use letters, digits and '_', not starting with a digit"));
  if (!spec.net)
    throw Error(str("[aot] ", spec.name, ": AotSpec::net is not set"));
  if (spec.in_features < 1 || spec.out_features < 1)
    throw Error(str("[aot] ", spec.name, ": in_features and out_features must be >= 1, got ",
                    spec.in_features, " and ", spec.out_features));
}

/** Reads every parameter from the checkpoint, checking what Trainer::load would check. */
void bake(const std::string& path, std::vector<TensorInfo>& params) {
  const Safetensors ckpt = load_safetensors(path);
  for (TensorInfo& p : params) {
    const auto it = ckpt.tensors.find(p.name);
    if (it == ckpt.tensors.end())
      throw DataError(str("[aot] ", path, ": the checkpoint has no tensor '", p.name, "'"));
    const HostTensor& t = it->second;
    // Exact dims, as the Trainer writes them (PyTorch's layout): a transposed weight has the
    // right count and would bake garbage.
    if (t.dtype != ir::DType::F32 || t.shape != p.dims)
      throw DataError(str("[aot] ", path, ": tensor '", p.name, "' is ", ir::to_string(t.dtype),
                          " ", HostTensor::shape_text(t.shape), "; the network needs ", p.size,
                          " f32 values (", HostTensor::shape_text(p.dims), ")"));
    const auto values = t.view<float>();
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw DataError(str("[aot] ", path, ": tensor '", p.name, "' holds ", values[i],
                            " at index ", i, "; baked weights must be finite"));
    p.baked.assign(values.begin(), values.end());
  }
}

TensorInfo tensor_info(std::string name, const ir::Shape& shape, double init = 0.0) {
  return {std::move(name), shape.dims(), shape.static_numel(), init, {}};
}

} // namespace

AotModel build_model(const AotSpec& spec) {
  check_spec(spec);
  AotModel m;
  m.name = spec.name;
  m.in_features = spec.in_features;
  m.out_features = spec.out_features;
  m.classification = spec.loss.classification;
  m.description.push_back(spec.net->describe());

  // The Trainer's problem, so that the emitted kernels are the JIT's kernels; the ABI's step
  // returns the loss only, and there is no fused epoch.
  train::Problem problem = train::supervised(*spec.net, spec.in_features, spec.out_features,
                                             spec.loss, spec.optimizer, spec.weight_decay);
  problem.metrics.clear();
  problem.epoch_data.clear();
  for (const Param<>& p : spec.net->parameters())
    problem.param_order.push_back(p.name());
  // The network's output is checked before the loss is lowered, which would fail on it less
  // clearly.
  const Lowered fwd = lower(problem.predictions);
  const ir::Type out = fwd.graph.node(fwd.graph.output("F")).type;
  const ir::Shape want{ir::kBatch, spec.out_features};
  if (out.shape != want)
    throw Error(str("[aot] ", spec.name, ": the network maps ",
                    ir::Shape{ir::kBatch, spec.in_features}, " to ", out.shape,
                    ", but out_features says ", want));
  if (fwd.params.empty())
    throw Error(str("[aot] ", spec.name, ": the network has no parameters"));
  const train::ProblemGraphs g = train::build(problem);
  for (const ParamSpec& p : g.params)
    m.params.push_back(tensor_info(p.name, p.shape));

  // Executable::compile optimizes before it renders; so does this, once per graph.
  m.forward_graph = ir::optimize(g.predict);
  m.forward = codegen::render_cpu(m.forward_graph);

  if (g.step) {
    StepGraph sg = *g.step;
    sg.graph = ir::optimize(sg.graph);
    m.step = codegen::render_cpu(sg.graph, {.updates = sg.updates});
    for (const auto& [name, init] : sg.state) {
      const auto leaf = sg.graph.find_leaf(ir::Op::Param, name);
      KILN_ASSERT(leaf, "the step graph lost its state param '", name, "'");
      m.state.push_back(tensor_info(name, sg.graph.node(*leaf).type.shape, init));
    }
    m.step_graph = std::move(sg);
    m.description.push_back(
        "loss: " + spec.loss.name +
        (spec.weight_decay > 0 ? str(" + L2 (weight_decay ", spec.weight_decay, ")") : ""));
    m.description.push_back("optimizer: " + spec.optimizer->describe());
  }

  if (spec.cuda) {
    m.cuda_forward = codegen::render_cuda(m.forward_graph);
    if (m.step_graph)
      m.cuda_step = codegen::render_cuda(m.step_graph->graph, {.updates = m.step_graph->updates});
  }

  if (!spec.checkpoint.empty()) {
    bake(spec.checkpoint, m.params);
    m.baked = true;
  }
  return m;
}

} // namespace kiln::aot::detail
