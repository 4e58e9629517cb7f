#include "aot/aot_model.h"

#include <cmath>

#include "base/error.h"
#include "frontend/lower.h"
#include "io/safetensors.h"
#include "ir/passes.h"

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

/** The target of the loss: labels for classification, else floats like the output. */
Expr loss_of(const AotSpec& spec, const Expr& f) {
  Expr target;
  if (spec.loss.classification)
    target = Labels<>(spec.out_features, "c");
  else
    target = Target{{spec.out_features}, "c"};
  Expr l = spec.loss.fn(f, target);
  if (spec.weight_decay > 0)
    l = l + nn::l2(spec.net->parameters(), spec.weight_decay);
  return l;
}

/** Reads every parameter from the checkpoint, checking what Trainer::load would check. */
void bake(const std::string& path, std::vector<TensorInfo>& params) {
  const Safetensors ckpt = load_safetensors(path);
  for (TensorInfo& p : params) {
    const auto it = ckpt.tensors.find(p.name);
    if (it == ckpt.tensors.end())
      throw DataError(str("[aot] ", path, ": the checkpoint has no tensor '", p.name, "'"));
    const HostTensor& t = it->second;
    if (t.dtype != ir::DType::F32 || t.numel() != p.size)
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

/**
 * Appends the parameters of `params` that `m` does not list yet: first in the order of
 * `order` (the network's, which is PyTorch's), then any others in lowering order.
 */
void add_params(AotModel& m, const std::vector<ParamSpec>& params,
                const std::vector<Param<>>& order) {
  std::vector<const ParamSpec*> sorted;
  for (const Param<>& q : order)
    for (const ParamSpec& p : params)
      if (p.name == q.name())
        sorted.push_back(&p);
  for (const ParamSpec& p : params) {
    bool listed = false;
    for (const ParamSpec* q : sorted)
      listed = listed || q == &p;
    if (!listed)
      sorted.push_back(&p);
  }
  for (const ParamSpec* sp : sorted) {
    const ParamSpec& p = *sp;
    bool known = false;
    for (const TensorInfo& q : m.params)
      known = known || q.name == p.name;
    if (known)
      continue;
    m.params.push_back(tensor_info(p.name, p.shape));
  }
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

  const Input y{{spec.in_features}, "y"};
  const Expr f = (*spec.net)(y);
  const Lowered fwd = lower({{"F", f}});
  const ir::Type out = fwd.graph.node(fwd.graph.output("F")).type;
  const ir::Shape want{ir::kBatch, spec.out_features};
  if (out.shape != want)
    throw Error(str("[aot] ", spec.name, ": the network maps ",
                    ir::Shape{ir::kBatch, spec.in_features}, " to ", out.shape,
                    ", but out_features says ", want));
  if (fwd.params.empty())
    throw Error(str("[aot] ", spec.name, ": the network has no parameters"));
  const std::vector<Param<>> order = spec.net->parameters();
  add_params(m, fwd.params, order);

  // Render exactly what Executable::compile renders (it optimizes first), so that the emitted
  // kernels are the JIT's kernels.
  m.forward_graph = ir::optimize(fwd.graph);
  m.forward = codegen::render_cpu(m.forward_graph);

  if (spec.optimizer) {
    const Lowered train = lower({{"loss", loss_of(spec, f)}});
    // The regularizer may use parameters that the forward pass does not.
    add_params(m, train.params, order);
    std::vector<std::string> names;
    for (const TensorInfo& p : m.params)
      names.push_back(p.name);
    StepGraph sg = build_step(train.graph, *spec.optimizer, names);
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
