// Ops that move or replicate elements without arithmetic.

#include <algorithm>
#include <numeric>

#include "ir/node.h"
#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {

/** Calls f(out_flat, multi_index) for every element of a row-major array of `dims`. */
template <class F>
void for_each_index(const std::vector<int64_t>& dims, F&& f) {
  std::vector<int64_t> idx(dims.size(), 0);
  const int64_t n = numel_of(dims);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(flat, idx);
    for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < dims[static_cast<size_t>(d)])
        break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
}

Type broadcast_rule(const InferCtx& c) {
  const Shape& from = c.in[0].shape;
  const Shape to(c.attrs.ints("shape"));
  bool ok = from.rank() <= to.rank();
  for (int i = 0; ok && i < from.rank(); ++i) {
    const int64_t f = from[i], t = to[i + to.rank() - from.rank()];
    ok = f == t || f == 1;
  }
  if (!ok)
    throw ShapeError(str("[broadcast] cannot broadcast ", c.in[0], " to ", to,
                         " (right-aligned dims must be equal or 1)"));
  return Type{c.in[0].dtype, to};
}

Tensor broadcast_eval(const EvalCtx& c) {
  const Tensor& x = *c.in[0];
  Tensor out(c.node.type.dtype, c.out_dims);
  const std::vector<int64_t> xs = x.strides();
  const size_t lead = c.out_dims.size() - x.dims.size();
  for_each_index(c.out_dims, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t i = 0;
    for (size_t d = 0; d < x.dims.size(); ++d)
      i += (x.dims[d] == 1 ? 0 : idx[d + lead]) * xs[d];
    out[o] = x[i];
  });
  return out;
}

Type reshape_rule(const InferCtx& c) {
  const Shape& from = c.in[0].shape;
  const Shape to(c.attrs.ints("shape"));
  int batches = 0;
  for (int64_t d : to.dims()) {
    batches += d == kBatch;
    if (d != kBatch && d < 1)
      throw ShapeError(str("[reshape] dims must be >= 1, got ", to));
  }
  if (from.static_numel() != to.static_numel() || from.has_batch() != to.has_batch() || batches > 1)
    throw ShapeError(str("[reshape] cannot reshape ", c.in[0], " to ", to,
                         " (the element count and the batch dim must be kept)"));
  return Type{c.in[0].dtype, to};
}

Type transpose_rule(const InferCtx& c) {
  const Shape& s = c.in[0].shape;
  const std::vector<int64_t> perm = c.attrs.ints("perm");
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(static_cast<size_t>(s.rank()));
  std::iota(iota.begin(), iota.end(), 0);
  if (sorted != iota)
    throw ShapeError(
        str("[transpose] ", Shape(perm), " is not a permutation of the axes of ", c.in[0]));
  std::vector<int64_t> out;
  for (int64_t p : perm)
    out.push_back(s[static_cast<int>(p)]);
  return Type{c.in[0].dtype, Shape(std::move(out))};
}

Tensor transpose_eval(const EvalCtx& c) {
  const Tensor& x = *c.in[0];
  const std::vector<int64_t>& perm = c.node.attrs.ints("perm");
  Tensor out(c.node.type.dtype, c.out_dims);
  const std::vector<int64_t> xs = x.strides();
  for_each_index(c.out_dims, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t i = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      i += idx[d] * xs[static_cast<size_t>(perm[d])];
    out[o] = x[i];
  });
  return out;
}

Type concat_rule(const InferCtx& c) {
  const int64_t axis = c.attrs.i("axis");
  const Type& first = c.in[0];
  if (axis < 0 || axis >= first.shape.rank())
    throw ShapeError(str("[concat] axis ", axis, " is out of range for ", first));
  if (first.shape[static_cast<int>(axis)] == kBatch)
    throw ShapeError(str("[concat] cannot concatenate along the batch dim of ", first));
  std::vector<int64_t> dims = first.shape.dims();
  dims[static_cast<size_t>(axis)] = 0;
  for (const Type& t : c.in) {
    bool ok = t.dtype == first.dtype && t.shape.rank() == first.shape.rank();
    for (int d = 0; ok && d < t.shape.rank(); ++d)
      ok = d == axis || t.shape[d] == first.shape[d];
    if (!ok)
      throw ShapeError(str("[concat] operands must match except along axis ", axis, ": got ", first,
                           " and ", t));
    dims[static_cast<size_t>(axis)] += t.shape[static_cast<int>(axis)];
  }
  return Type{first.dtype, Shape(std::move(dims))};
}

Tensor concat_eval(const EvalCtx& c) {
  const auto axis = static_cast<size_t>(c.node.attrs.i("axis"));
  Tensor out(c.node.type.dtype, c.out_dims);
  int64_t offset = 0;
  const std::vector<int64_t> os = out.strides();
  for (const Tensor* part : c.in) {
    for_each_index(part->dims, [&](int64_t i, const std::vector<int64_t>& idx) {
      int64_t o = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        o += (idx[d] + (d == axis ? offset : 0)) * os[d];
      out[o] = (*part)[i];
    });
    offset += part->dims[axis];
  }
  return out;
}

Type slice_rule(const InferCtx& c) {
  const int64_t axis = c.attrs.i("axis"), begin = c.attrs.i("begin"), end = c.attrs.i("end");
  const Shape& s = c.in[0].shape;
  if (axis < 0 || axis >= s.rank())
    throw ShapeError(str("[slice] axis ", axis, " is out of range for ", c.in[0]));
  const int64_t dim = s[static_cast<int>(axis)];
  if (dim == kBatch)
    throw ShapeError(str("[slice] cannot slice the batch dim of ", c.in[0]));
  if (begin < 0 || end > dim || begin >= end)
    throw ShapeError(str("[slice] range [", begin, ", ", end, ") is empty or outside [0, ", dim,
                         ") on axis ", axis, " of ", c.in[0]));
  std::vector<int64_t> dims = s.dims();
  dims[static_cast<size_t>(axis)] = end - begin;
  return Type{c.in[0].dtype, Shape(std::move(dims))};
}

Tensor slice_eval(const EvalCtx& c) {
  const Tensor& x = *c.in[0];
  const auto axis = static_cast<size_t>(c.node.attrs.i("axis"));
  const int64_t begin = c.node.attrs.i("begin");
  Tensor out(c.node.type.dtype, c.out_dims);
  const std::vector<int64_t> xs = x.strides();
  for_each_index(c.out_dims, [&](int64_t o, const std::vector<int64_t>& idx) {
    int64_t i = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      i += (idx[d] + (d == axis ? begin : 0)) * xs[d];
    out[o] = x[i];
  });
  return out;
}

} // namespace

const OpDef kBroadcastDef{
    .name = "broadcast",
    .kind = OpKind::Movement,
    .arity = 1,
    .infer = broadcast_rule,
    // Each input element fed several outputs: sum their cotangents.
    .vjp = [](VjpCtx& c) { return grads({sum_to(grad(c), in(c, 0).shape())}); },
    .jvp = [](JvpCtx& c) { return broadcast_to(dot(c, 0), out(c).shape()).id(); },
    .eval = broadcast_eval,
};

const OpDef kConcatDef{
    .name = "concat",
    .kind = OpKind::Movement,
    .arity = -1,
    .infer = concat_rule,
    // Each operand gets its own slice of the cotangent.
    .vjp =
        [](VjpCtx& c) {
          const int64_t axis = attrs(c).i("axis");
          const size_t n = c.b.node(c.self).inputs.size();
          std::vector<NodeId> out;
          int64_t offset = 0;
          for (size_t i = 0; i < n; ++i) {
            const int64_t len = in(c, i).shape()[static_cast<int>(axis)];
            out.push_back(slice(grad(c), axis, offset, offset + len).id());
            offset += len;
          }
          return out;
        },
    .jvp =
        [](JvpCtx& c) {
          std::vector<Val> parts;
          for (size_t i = 0; i < c.tangents.size(); ++i)
            parts.push_back(dot_or_zero(c, i));
          return concat(parts, attrs(c).i("axis")).id();
        },
    .eval = concat_eval,
};

const OpDef kReshapeDef{
    .name = "reshape",
    .kind = OpKind::Movement,
    .arity = 1,
    .infer = reshape_rule,
    .vjp = [](VjpCtx& c) { return grads({reshape(grad(c), in(c, 0).shape())}); },
    .jvp = [](JvpCtx& c) { return reshape(dot(c, 0), out(c).shape()).id(); },
    .eval = [](const EvalCtx& c) { return Tensor(c.node.type.dtype, c.out_dims, c.in[0]->data); },
};

const OpDef kSliceDef{
    .name = "slice",
    .kind = OpKind::Movement,
    .arity = 1,
    .infer = slice_rule,
    // The cotangent of a slice is the cotangent padded with zeros back to the input's size.
    .vjp =
        [](VjpCtx& c) {
          const Attrs a = attrs(c);
          const int64_t axis = a.i("axis"), begin = a.i("begin"), end = a.i("end");
          const Val x = in(c, 0);
          const int64_t dim = x.shape()[static_cast<int>(axis)];
          std::vector<Val> parts;
          auto zeros = [&](int64_t len) {
            std::vector<int64_t> dims = x.shape().dims();
            dims[static_cast<size_t>(axis)] = len;
            return constant(c.b, 0.0, Type{x.dtype(), Shape(dims)});
          };
          if (begin > 0)
            parts.push_back(zeros(begin));
          parts.push_back(grad(c));
          if (end < dim)
            parts.push_back(zeros(dim - end));
          return grads({concat(parts, axis)});
        },
    .jvp =
        [](JvpCtx& c) {
          const Attrs a = attrs(c);
          return slice(dot(c, 0), a.i("axis"), a.i("begin"), a.i("end")).id();
        },
    .eval = slice_eval,
};

const OpDef kTransposeDef{
    .name = "transpose",
    .kind = OpKind::Movement,
    .arity = 1,
    .infer = transpose_rule,
    // The cotangent moves back through the inverse permutation.
    .vjp =
        [](VjpCtx& c) {
          const std::vector<int64_t> perm = attrs(c).ints("perm");
          std::vector<int64_t> inverse(perm.size());
          for (size_t i = 0; i < perm.size(); ++i)
            inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
          return grads({transpose(grad(c), inverse)});
        },
    .jvp = [](JvpCtx& c) { return transpose(dot(c, 0), attrs(c).ints("perm")).id(); },
    .eval = transpose_eval,
};

} // namespace kiln::ir
