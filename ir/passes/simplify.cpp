#include "ir/passes.h"
#include "ir/rewrite.h"
#include "ir/val.h"

namespace kiln::ir {

namespace {

bool is_const(const Builder& b, NodeId id, double v) {
  const Node& n = b.node(id);
  return n.op == Op::Constant && n.attrs.f("value") == v;
}

bool is(const Builder& b, NodeId id, Op op) {
  return b.node(id).op == op;
}
NodeId arg(const Builder& b, NodeId id, size_t k = 0) {
  return b.node(id).inputs[k];
}

std::optional<NodeId> arithmetic(Builder& b, const Node& n, const std::vector<NodeId>& in) {
  auto zero = [&] { return b.constant(0.0, n.type); };
  auto neg = [&](NodeId x) { return b.make(Op::Neg, {x}); };
  switch (n.op) {
  case Op::Add:
    if (is_const(b, in[1], 0))
      return in[0];
    if (is_const(b, in[0], 0))
      return in[1];
    if (is(b, in[1], Op::Neg))
      return b.make(Op::Sub, {in[0], arg(b, in[1])});
    if (is(b, in[0], Op::Neg))
      return b.make(Op::Sub, {in[1], arg(b, in[0])});
    return std::nullopt;
  case Op::Sub:
    if (is_const(b, in[1], 0))
      return in[0];
    if (is_const(b, in[0], 0))
      return neg(in[1]);
    if (is(b, in[1], Op::Neg))
      return b.make(Op::Add, {in[0], arg(b, in[1])});
    return std::nullopt;
  case Op::Mul:
    for (int k = 0; k < 2; ++k) {
      if (is_const(b, in[k], 1))
        return in[1 - k];
      if (is_const(b, in[k], 0))
        return zero(); // assumes finite values (see ir/node.h)
      if (is_const(b, in[k], -1))
        return neg(in[1 - k]);
    }
    if (in[0] == in[1])
      return b.make(Op::Square, {in[0]});
    return std::nullopt;
  case Op::Div:
    if (is_const(b, in[1], 1))
      return in[0];
    if (is_const(b, in[0], 0))
      return zero();
    return std::nullopt;
  case Op::Neg:
    if (is(b, in[0], Op::Neg))
      return arg(b, in[0]);
    return std::nullopt;
  case Op::Select:
    if (in[1] == in[2])
      return in[1];
    return std::nullopt;
  default:
    return std::nullopt;
  }
}

std::optional<NodeId> movement(Builder& b, const Node& n, const std::vector<NodeId>& in) {
  const Shape& from = b.type(in[0]).shape;
  switch (n.op) {
  case Op::Reshape:
    if (from == n.type.shape)
      return in[0];
    if (is(b, in[0], Op::Reshape)) {
      const NodeId x = arg(b, in[0]);
      if (b.type(x).shape == n.type.shape)
        return x; // a round trip
      return b.make(Op::Reshape, {x}, n.attrs);
    }
    return std::nullopt;
  case Op::Broadcast:
    if (from == n.type.shape)
      return in[0];
    if (is(b, in[0], Op::Broadcast))
      return b.make(Op::Broadcast, {arg(b, in[0])}, n.attrs);
    return std::nullopt;
  case Op::Transpose: {
    if (!is(b, in[0], Op::Transpose))
      return std::nullopt;
    const std::vector<int64_t>& outer = n.attrs.ints("perm");
    const std::vector<int64_t>& inner = b.node(in[0]).attrs.ints("perm");
    std::vector<int64_t> perm;
    bool identity = true;
    for (size_t i = 0; i < outer.size(); ++i) {
      perm.push_back(inner[static_cast<size_t>(outer[i])]);
      identity &= perm.back() == static_cast<int64_t>(i);
    }
    if (identity)
      return arg(b, in[0]);
    return b.make(Op::Transpose, {arg(b, in[0])}, Attrs().set("perm", perm));
  }
  default:
    return std::nullopt;
  }
}

// op(broadcast(a), broadcast(b), c) with a and b of one shape S and c a constant runs as
// broadcast(op(a, b, c at S)): the arithmetic happens once per element of S.
std::optional<NodeId> hoist_broadcast(Builder& b, const Node& n, const std::vector<NodeId>& in) {
  std::optional<Shape> small;
  for (NodeId x : in) {
    if (is(b, x, Op::Constant))
      continue;
    if (!is(b, x, Op::Broadcast))
      return std::nullopt;
    const Shape& s = b.type(arg(b, x)).shape;
    if (small && *small != s)
      return std::nullopt;
    small = s;
  }
  if (!small)
    return std::nullopt;
  std::vector<NodeId> args;
  for (NodeId x : in)
    args.push_back(is(b, x, Op::Constant)
                       ? b.constant(b.node(x).attrs.f("value"), Type{b.type(x).dtype, *small})
                       : arg(b, x));
  const NodeId op = b.make(n.op, args, n.attrs);
  return b.make(Op::Broadcast, {op}, Attrs().set("shape", n.type.shape.dims()));
}

// Products with a factor that repeats one row (a direction that is the same at every point, as
// d(u, x, j)'s e_j) need that row once: broadcast(r) B = broadcast(r B) (the first layer's
// tangent), and A^T broadcast(r) = (1^T A)^T r, the column sums of A times r (its gradient).
std::optional<NodeId> hoist_row_broadcast(Builder& b, const Node& n,
                                          const std::vector<NodeId>& in) {
  const bool ta = n.attrs.i("ta") != 0, tb = n.attrs.i("tb") != 0;
  auto row_of = [&](NodeId x) -> std::optional<NodeId> {
    if (!is(b, x, Op::Broadcast))
      return std::nullopt;
    const Shape& r = b.type(arg(b, x)).shape;
    return r.rank() == 2 && r[0] == 1 ? std::optional(arg(b, x)) : std::nullopt;
  };
  if (const auto row = row_of(in[0]); row && !ta) {
    const NodeId product = b.make(Op::MatMul, {*row, in[1]}, n.attrs);
    return b.make(Op::Broadcast, {product}, Attrs().set("shape", n.type.shape.dims()));
  }
  if (const auto row = row_of(in[1]); row && ta && !tb) {
    const Val a(b, in[0]);
    const Val sums = sum_to(a, Shape{1, a.shape()[1]});
    return matmul(sums, Val(b, *row), true, false).id();
  }
  return std::nullopt;
}

} // namespace

Graph simplify(const Graph& g) {
  return rewrite(
      g, [](Builder& b, const Node& n, const std::vector<NodeId>& in) -> std::optional<NodeId> {
        switch (n.def().kind) {
        case OpKind::Elementwise:
          if (auto r = arithmetic(b, n, in))
            return r;
          if (n.def().positional)
            return std::nullopt; // its value depends on where it is computed
          return hoist_broadcast(b, n, in);
        case OpKind::Movement:
          return movement(b, n, in);
        case OpKind::MatMul:
          return hoist_row_broadcast(b, n, in);
        default:
          return std::nullopt;
        }
      });
}

} // namespace kiln::ir
