#include "ir/interpret.h"

#include <optional>

#include "base/error.h"

namespace kiln::ir {

namespace {

std::vector<bool> needed_for(const Graph& g, const std::vector<NodeId>& roots) {
  std::vector<bool> need(g.size(), false);
  for (NodeId r : roots)
    need[r] = true;
  for (size_t i = g.size(); i-- > 0;)
    if (need[i])
      for (NodeId in : g.node(static_cast<NodeId>(i)).inputs)
        need[in] = true;
  return need;
}

// The batch size is whatever the bound leaves say N is; they must agree.
int64_t find_batch(const Graph& g, const std::vector<bool>& need, const Bindings& leaves) {
  std::optional<int64_t> batch;
  std::string first;
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    if (n.op != Op::Input && n.op != Op::Param)
      continue;
    auto it = leaves.find(n.name());
    if (it == leaves.end() && !need[i])
      continue; // unbound and unused: fine
    if (it == leaves.end())
      throw Error(str("[interpret] no value bound for ", op_name(n.op), " '", n.name(), "' (",
                      n.type, ")"));
    const Tensor& t = it->second;
    const Shape& s = n.type.shape;
    bool ok = t.rank() == s.rank();
    for (int d = 0; ok && d < s.rank(); ++d) {
      if (s[d] != kBatch) {
        ok = t.dims[static_cast<size_t>(d)] == s[d];
      } else if (!batch) {
        batch = t.dims[static_cast<size_t>(d)];
        first = n.name();
      } else if (*batch != t.dims[static_cast<size_t>(d)]) {
        throw Error(str("[interpret] the batch size differs between leaves: '", first, "' has ",
                        *batch, ", '", n.name(), "' has ", t.dims[static_cast<size_t>(d)]));
      }
    }
    if (!ok)
      throw Error(str("[interpret] ", op_name(n.op), " '", n.name(), "' expects ", n.type,
                      ", got a value of shape ", Shape(t.dims)));
  }
  return batch.value_or(1);
}

Tensor eval_node(const Node& n, const std::vector<Tensor>& values, int64_t batch,
                 const Bindings& leaves) {
  const std::vector<int64_t> dims = n.type.shape.concrete(batch);
  const OpDef& def = n.def();
  switch (def.kind) {
  case OpKind::Leaf:
    if (n.op == Op::Constant)
      return Tensor(n.type.dtype, dims, n.attrs.f("value"));
    return Tensor(n.type.dtype, dims, leaves.find(n.name())->second.data);
  case OpKind::Elementwise: {
    if (!def.scalar) { // positional: the whole tensor at once
      std::vector<const Tensor*> in;
      for (NodeId i : n.inputs)
        in.push_back(&values[i]);
      return def.eval(EvalCtx{in, n, dims});
    }
    Tensor out(n.type.dtype, dims);
    double args[3];
    for (int64_t i = 0; i < out.numel(); ++i) {
      for (size_t k = 0; k < n.inputs.size(); ++k)
        args[k] = values[n.inputs[k]][i];
      out[i] = def.scalar(args, n.attrs);
    }
    return out;
  }
  default: {
    std::vector<const Tensor*> in;
    for (NodeId i : n.inputs)
      in.push_back(&values[i]);
    return def.eval(EvalCtx{in, n, dims});
  }
  }
}

std::vector<Tensor> run(const Graph& g, const std::vector<NodeId>& roots, const Bindings& leaves,
                        Precision precision) {
  const std::vector<bool> need = needed_for(g, roots);
  const int64_t batch = find_batch(g, need, leaves);
  std::vector<Tensor> values(g.size());
  for (NodeId i = 0; i < g.size(); ++i) {
    if (!need[i])
      continue;
    const Node& n = g.node(i);
    values[i] = eval_node(n, values, batch, leaves);
    if (precision == Precision::Native || !is_float(n.type.dtype))
      for (double& v : values[i].data)
        v = round_to(n.type.dtype, v);
  }
  std::vector<Tensor> out;
  for (NodeId r : roots)
    out.push_back(values[r]);
  return out;
}

} // namespace

std::vector<Tensor> interpret(const Graph& g, const Bindings& leaves, Precision precision) {
  std::vector<NodeId> roots;
  for (const Output& o : g.outputs())
    roots.push_back(o.id);
  return run(g, roots, leaves, precision);
}

Tensor interpret_node(const Graph& g, NodeId id, const Bindings& leaves, Precision precision) {
  return run(g, {id}, leaves, precision).front();
}

} // namespace kiln::ir
