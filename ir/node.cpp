#include "ir/node.h"

#include "base/error.h"
#include "base/hash.h"

namespace kiln::ir {

NodeId Graph::output(std::string_view name) const {
  for (const Output& o : outputs_)
    if (o.name == name)
      return o.id;
  std::string names;
  for (const Output& o : outputs_)
    names += (names.empty() ? "" : ", ") + o.name;
  throw Error(str("[graph] no output named '", name,
                  "'; the outputs are: ", names.empty() ? "(none)" : names));
}

std::vector<NodeId> Graph::leaves(Op op) const {
  std::vector<NodeId> out;
  for (NodeId i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == op)
      out.push_back(i);
  return out;
}

std::optional<NodeId> Graph::find_leaf(Op op, std::string_view name) const {
  for (NodeId i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == op && nodes_[i].name() == name)
      return i;
  return std::nullopt;
}

uint64_t node_hash(const Node& n) {
  uint64_t h = hash_combine(static_cast<uint64_t>(n.op), n.attrs.hash());
  for (NodeId i : n.inputs)
    h = hash_combine(h, i);
  h = hash_combine(h, static_cast<uint64_t>(n.type.dtype));
  for (int64_t d : n.type.shape.dims())
    h = hash_combine(h, static_cast<uint64_t>(d));
  return h;
}

Builder::Builder(const Graph& g) : graph_(g) {
  for (NodeId i = 0; i < graph_.nodes_.size(); ++i)
    index_.emplace(node_hash(graph_.nodes_[i]), i);
}

NodeId Builder::make(Op op, std::vector<NodeId> inputs, Attrs attrs, std::optional<Type> declared) {
  const OpDef& def = op_def(op);
  if (def.arity >= 0 && static_cast<int>(inputs.size()) != def.arity)
    throw ShapeError(str("[", def.name, "] expects ", def.arity, " operands, got ", inputs.size()));
  if (def.arity < 0 && inputs.empty())
    throw ShapeError(str("[", def.name, "] expects at least one operand"));
  for (NodeId i : inputs)
    KILN_ASSERT(i < size(), "operand %", i, " of ", def.name, " does not exist");

  Type type;
  if (def.kind == OpKind::Leaf) {
    KILN_ASSERT(declared, def.name, " needs a declared type");
    type = *declared;
    if (op == Op::Param && type.shape.has_batch())
      throw ShapeError(str("[param] '", attrs.s("name"), "' is ", type,
                           "; a param cannot have the batch dim N"));
    for (int64_t d : type.shape.dims())
      if (d != kBatch && d < 1)
        throw ShapeError(str("[", def.name, "] dims must be >= 1, got ", type.shape));
  } else {
    std::vector<Type> in;
    in.reserve(inputs.size());
    for (NodeId i : inputs)
      in.push_back(this->type(i));
    type = def.infer(InferCtx{def.name, in, attrs});
    if (declared && *declared != type)
      throw ShapeError(
          str("[", def.name, "] declared type ", *declared, " but the operands give ", type));
  }
  return intern(Node{op, std::move(type), std::move(inputs), std::move(attrs)});
}

NodeId Builder::intern(Node n) {
  const uint64_t h = node_hash(n);
  auto [lo, hi] = index_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (graph_.nodes_[it->second] == n)
      return it->second;
  const auto id = static_cast<NodeId>(graph_.nodes_.size());
  graph_.nodes_.push_back(std::move(n));
  index_.emplace(h, id);
  return id;
}

static NodeId named_leaf(Builder& b, Op op, const std::string& name, Type type) {
  for (NodeId i = 0; i < b.size(); ++i) {
    const Node& n = b.node(i);
    if (n.op == op && n.name() == name && n.type != type)
      throw ShapeError(
          str("[", op_name(op), "] '", name, "' is declared twice: as ", n.type, " and as ", type));
  }
  return b.make(op, {}, Attrs().set("name", name), type);
}

NodeId Builder::input(const std::string& name, Type type) {
  return named_leaf(*this, Op::Input, name, std::move(type));
}

NodeId Builder::param(const std::string& name, Type type) {
  return named_leaf(*this, Op::Param, name, std::move(type));
}

NodeId Builder::constant(double value, Type type) {
  return make(Op::Constant, {}, Attrs().set("value", value), std::move(type));
}

void Builder::set_output(const std::string& name, NodeId id) {
  KILN_ASSERT(id < size(), "output ", name, " points at a missing node");
  for (Output& o : graph_.outputs_)
    if (o.name == name) {
      o.id = id;
      return;
    }
  graph_.outputs_.push_back({name, id});
}

} // namespace kiln::ir
