#include "ir/passes.h"
#include "ir/rewrite.h"

namespace kiln::ir {

namespace {

std::optional<double> constant_value(const Builder& b, NodeId id) {
  const Node& n = b.node(id);
  if (n.op != Op::Constant)
    return std::nullopt;
  return n.attrs.f("value");
}

// How many input elements each output of a reduction sums up; nullopt when N is among them.
std::optional<double> static_count(const Shape& in, const std::vector<int64_t>& axes) {
  double count = 1;
  for (int64_t a : axes) {
    const int64_t d = in[static_cast<int>(a)];
    if (d == kBatch)
      return std::nullopt;
    count *= static_cast<double>(d);
  }
  return count;
}

std::optional<double> fold(const Builder& b, const Node& n, const std::vector<NodeId>& in) {
  std::vector<double> args;
  for (NodeId x : in) {
    const auto v = constant_value(b, x);
    if (!v)
      return std::nullopt;
    args.push_back(*v);
  }
  switch (n.def().kind) {
  case OpKind::Elementwise:
    if (n.def().positional)
      return std::nullopt;
    return n.def().scalar(args.data(), n.attrs);
  case OpKind::Movement: {
    // A splat stays a splat under any movement; concat only when all parts agree.
    for (double a : args)
      if (a != args[0])
        return std::nullopt;
    return args[0];
  }
  case OpKind::Reduce: {
    const ReduceRule& rule = *n.def().reduce;
    if (const auto count = static_count(b.type(in[0]).shape, n.attrs.ints("axes")))
      return rule.of_splat(args[0], *count);
    // Over a batch dim the count is unknown; a rule whose result does not depend on it (a max
    // or a mean of a splat is the splat) still folds.
    if (rule.of_splat(1.0, 1.0) != rule.of_splat(1.0, 2.0))
      return std::nullopt;
    return rule.of_splat(args[0], 1.0);
  }
  case OpKind::MatMul: {
    if (args[0] == 0.0 || args[1] == 0.0)
      return 0.0;
    const Shape& a = b.type(in[0]).shape;
    const int64_t k = a[n.attrs.i("ta") ? 0 : 1];
    if (k == kBatch)
      return std::nullopt;
    return args[0] * args[1] * static_cast<double>(k);
  }
  case OpKind::Index:
    if (n.op == Op::Gather)
      return args[0];
    return std::nullopt;
  case OpKind::Leaf:
  case OpKind::Window: // a window over a splat is not one near the zero padding
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace

Graph fold_constants(const Graph& g) {
  return rewrite(
      g, [](Builder& b, const Node& n, const std::vector<NodeId>& in) -> std::optional<NodeId> {
        if (n.def().kind == OpKind::Leaf || in.empty())
          return std::nullopt;
        const auto v = fold(b, n, in);
        if (!v)
          return std::nullopt;
        return b.constant(round_to(n.type.dtype, *v), n.type);
      });
}

} // namespace kiln::ir
