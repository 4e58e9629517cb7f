// Ops that use integer labels: one-hot encoding and picking one entry per row.

#include "ir/node.h"
#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {

Type one_hot_rule(const InferCtx& c) {
  require_int(c, 0);
  const int64_t depth = c.attrs.i("depth");
  if (depth < 1)
    throw ShapeError(str("[one_hot] depth must be >= 1, got ", depth));
  const DType t = dtype_attr(c.op, c.attrs);
  if (!is_float(t))
    throw ShapeError(str("[one_hot] the result dtype must be f32 or f64, got ", to_string(t)));
  std::vector<int64_t> dims = c.in[0].shape.dims();
  dims.push_back(depth);
  return Type{t, Shape(std::move(dims))};
}

// A label outside [0, depth) gives a row of zeros (no class), as TensorFlow's one_hot.
Tensor one_hot_eval(const EvalCtx& c) {
  const Tensor& labels = *c.in[0];
  const int64_t depth = c.node.attrs.i("depth");
  Tensor out(c.node.type.dtype, c.out_dims);
  for (int64_t i = 0; i < labels.numel(); ++i) {
    const auto k = static_cast<int64_t>(labels[i]);
    if (k >= 0 && k < depth)
      out[i * depth + k] = 1.0;
  }
  return out;
}

Type gather_rule(const InferCtx& c) {
  require_float(c, 0);
  require_int(c, 1);
  const Shape &x = c.in[0].shape, &idx = c.in[1].shape;
  std::vector<int64_t> lead(x.dims().begin(), x.dims().end() - (x.rank() ? 1 : 0));
  if (x.rank() < 1 || Shape(lead) != idx)
    throw ShapeError(str("[gather] indices ", c.in[1], " must have the shape of ", c.in[0],
                         " without its last axis"));
  return Type{c.in[0].dtype, idx};
}

Tensor gather_eval(const EvalCtx& c) {
  const Tensor &x = *c.in[0], &idx = *c.in[1];
  const int64_t depth = x.dims.back();
  Tensor out(c.node.type.dtype, c.out_dims);
  for (int64_t i = 0; i < idx.numel(); ++i) {
    const auto k = static_cast<int64_t>(idx[i]);
    if (k < 0 || k >= depth)
      throw Error(str("[gather] index ", k, " at position ", i, " is outside [0, ", depth, ")"));
    out[i] = x[i * depth + k];
  }
  return out;
}

} // namespace

const OpDef kGatherDef{
    .name = "gather",
    .kind = OpKind::Index,
    .arity = 2,
    .infer = gather_rule,
    // The cotangent lands on the picked entry of each row: one_hot(idx) * g.
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0), idx = in(c, 1);
          const int64_t last = x.rank() - 1;
          const Val mask = one_hot(idx, x.shape()[static_cast<int>(last)], x.dtype());
          return std::vector<NodeId>{(mask * expand_to(grad(c), x.shape(), {last})).id(), kNoGrad};
        },
    .jvp = [](JvpCtx& c) { return with(c, 0, [&](Val t) { return gather(t, in(c, 1)); })->id(); },
    .eval = gather_eval,
    .index_operand = 1,
    .index_bound = [](const InferCtx& c) { return c.in[0].shape.dims().back(); },
};

const OpDef kOneHotDef{
    .name = "one_hot",
    .kind = OpKind::Index,
    .arity = 1,
    .infer = one_hot_rule,
    .differentiable = false,
    .eval = one_hot_eval,
    .index_operand = 0,
    .index_bound = [](const InferCtx& c) { return c.attrs.i("depth"); },
};

} // namespace kiln::ir
