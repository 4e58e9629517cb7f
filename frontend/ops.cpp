#include "frontend/ops.h"

#include "base/error.h"
#include "ir/autodiff.h"
#include "ir/forward.h"

namespace kiln::detail {

namespace {
bool is_batch_matrix(const ir::Val& v) {
  return v.rank() == 2 && v.shape()[0] == ir::kBatch;
}

void require_matrix_operands(const ir::Val& a, const ir::Val& b) {
  if (a.rank() != 2 || (b.rank() != 1 && b.rank() != 2))
    throw ShapeError(
        str("[matmul] the left operand must be a matrix and the right one a matrix or ",
            "a vector, got ", a.type(), " * ", b.type()));
}
} // namespace

ir::Val lower_rows(const ir::Val& w, const ir::Val& x) {
  if (w.rank() != 2 || x.rank() != 2 || w.shape()[1] != x.shape()[1])
    throw ShapeError(str("[linear] the weights ", w.type(), " must be [out, in] and the rows ",
                         x.type(), " [rows, in] with the same in"));
  return ir::matmul(x, w, false, true);
}

ir::Val lower_matmul(const ir::Val& a, const ir::Val& b) {
  // A scalar expression (a learnable coefficient) scales, as a number does.
  if (a.rank() == 0 || b.rank() == 0)
    return a * b;
  require_matrix_operands(a, b);
  const ir::Shape &sa = a.shape(), &sb = b.shape();
  if (is_batch_matrix(a) && is_batch_matrix(b))
    throw ShapeError(str("[matmul] both operands are batches (", a.type(), " * ", b.type(),
                         "); use kiln::mul for an elementwise product"));
  if (is_batch_matrix(b)) {
    // A applied to every sample: A y_i for each row y_i, i.e. Y A^T.
    if (sa[1] != sb[1])
      throw ShapeError(str("[matmul] the matrix ", a.type(), " has ", ir::dim_str(sa[1]),
                           " columns but each sample of ", b.type(), " has ", sb[1], " features"));
    return ir::matmul(b, a, false, true);
  }
  return lower_plain_matmul(a, b);
}

ir::Val lower_plain_matmul(const ir::Val& a, const ir::Val& b) {
  require_matrix_operands(a, b);
  const ir::Shape &sa = a.shape(), &sb = b.shape();
  if (sa[1] != sb[0])
    throw ShapeError(str("[matmul] inner dimensions differ: ", a.type(), " has ",
                         ir::dim_str(sa[1]), " columns, ", b.type(), " has ", ir::dim_str(sb[0]),
                         " rows"));
  if (sb.rank() == 1)
    return ir::reshape(ir::matmul(a, ir::reshape(b, ir::Shape{sb[0], 1})), ir::Shape{sa[0]});
  return ir::matmul(a, b);
}

ir::Val lower_reduce(ir::Op op, const ir::Val& x, std::vector<int64_t> axes, bool all) {
  if (all) {
    axes.clear();
    for (int i = 0; i < x.rank(); ++i)
      axes.push_back(i);
  }
  for (int64_t& a : axes) {
    if (a < -x.rank() || a >= x.rank())
      throw ShapeError(str("[", ir::op_name(op), "] axis ", a, " is out of range for ", x.type()));
    if (a < 0)
      a += x.rank();
  }
  return ir::reduce(op, x, std::move(axes));
}

ir::Val GradTag::lower(LowerCtx& c, const ir::Val& e, const ir::Val& wrt) const {
  const ir::NodeId w = wrt.id();
  return {c.builder(), ir::append_gradients(c.builder(), e.id(), std::span(&w, 1)).front()};
}

ir::Val JvpTag::lower(LowerCtx& c, const ir::Val& e, const ir::Val& wrt, const ir::Val& v) const {
  const ir::NodeId w = wrt.id();
  const ir::Val dir = v.type() == wrt.type() ? v : ir::broadcast_to(v, wrt.shape());
  const ir::NodeId d = dir.id();
  if (dir.type() != wrt.type())
    throw ShapeError(str("[jvp] the direction ", v.type(), " does not fit ", wrt.type()));
  return {c.builder(), ir::append_jvp(c.builder(), e.id(), std::span(&w, 1), std::span(&d, 1))};
}

ir::Val ColumnDerivTag::lower(LowerCtx& c, const ir::Val& e, const ir::Val& x) const {
  const ir::Shape s = x.shape();
  if (s.rank() != 2 || column < -s[1] || column >= s[1])
    throw ShapeError(str("[d] column ", column, " of ", x.type(),
                         ": expected points [N, d] and a column in [-d, d)"));
  const int64_t j = column < 0 ? column + s[1] : column;
  // The direction e_j at every point: one row, ones in column j and zeros elsewhere, broadcast
  // over the points (so the first layer's tangent is a row of its weight, not a product).
  std::vector<ir::Val> parts;
  auto block = [&](int64_t cols, double v) {
    parts.push_back(ir::constant(c.builder(), v, ir::Type{x.dtype(), ir::Shape{1, cols}}));
  };
  if (j > 0)
    block(j, 0.0);
  block(1, 1.0);
  if (j + 1 < s[1])
    block(s[1] - j - 1, 0.0);
  const ir::NodeId w = x.id(), dir = ir::broadcast_to(ir::concat(parts, 1), s).id();
  ir::NodeId out = e.id();
  for (int k = 0; k < order; ++k)
    out = ir::append_jvp(c.builder(), out, std::span(&w, 1), std::span(&dir, 1));
  return {c.builder(), out};
}

ir::Val lower_columns(const std::vector<ir::Val>& in, const std::vector<int64_t>& range) {
  const ir::Val& x = in.at(0);
  if (x.rank() != 2)
    throw ShapeError(str("[columns] expects points [N, d], got ", x.type()));
  const int64_t d = x.shape()[1];
  const int64_t begin = range[0] < 0 ? range[0] + d : range[0];
  const int64_t end = range[1] <= 0 && range[0] < 0 ? range[1] + d : range[1];
  if (begin < 0 || end > d || begin >= end)
    throw ShapeError(str("[columns] [", range[0], ", ", range[1], ") is empty or outside the ", d,
                         " columns of ", x.type()));
  return ir::slice(x, 1, begin, end);
}

ir::Val lower_concat(const std::vector<ir::Val>& in, const std::vector<int64_t>& axis) {
  int64_t a = axis.at(0);
  const int rank = in.at(0).rank();
  if (a < -rank || a >= rank)
    throw ShapeError(str("[concat] axis ", a, " is out of range for ", in[0].type()));
  return ir::concat(in, a < 0 ? a + rank : a);
}

ir::Val lower_transpose(const std::vector<ir::Val>& in, const std::vector<int64_t>&) {
  if (in.at(0).rank() != 2)
    throw ShapeError(str("[transpose] expects a matrix, got ", in[0].type()));
  return ir::transpose(in[0]);
}

ir::Val lower_reshape(const std::vector<ir::Val>& in, const std::vector<int64_t>& dims) {
  return ir::reshape(in.at(0), ir::Shape(dims));
}

ir::Val lower_flatten(const std::vector<ir::Val>& in, const std::vector<int64_t>& range) {
  const ir::Val& x = in.at(0);
  const int r = x.rank();
  const int64_t start = range[0] < 0 ? range[0] + r : range[0];
  const int64_t end = range[1] < 0 ? range[1] + r : range[1];
  if (start < 0 || start >= r || end < 0 || end >= r || start > end)
    throw ShapeError(str("[flatten] dims ", range[0], " to ", range[1], " are not a range of the ",
                         r, " dims of ", x.type()));
  std::vector<int64_t> dims;
  const ir::Shape s = x.shape();
  for (int64_t d = 0; d < r; ++d) {
    if (d <= start || d > end) {
      dims.push_back(s[static_cast<int>(d)]);
    } else if (s[static_cast<int>(d)] == ir::kBatch || dims.back() == ir::kBatch) {
      throw ShapeError(str("[flatten] cannot merge the batch dim of ", x.type(),
                           " with other dims (flatten from dim 1)"));
    } else {
      dims.back() *= s[static_cast<int>(d)];
    }
  }
  return ir::reshape(x, ir::Shape(std::move(dims)));
}

ir::Val lower_dropout(LowerCtx& c, const ir::Val& x, double p, int64_t seed) {
  if (!(p >= 0.0 && p < 1.0))
    throw ShapeError(str("[dropout] the drop probability p must be in [0, 1), got ", p));
  if (!is_float(x.dtype()))
    throw ShapeError(str("[dropout] expects float values, got ", x.type()));
  if (!c.training() || p == 0.0)
    return x;
  // The step graph's param "step" (train/step.h) counts the steps: a new mask every step. The
  // builder finds the param build_step adds later, since they share name and type.
  ir::Builder& b = c.builder();
  const ir::Val step(b, b.param("step", ir::Type{x.dtype(), ir::Shape{}}));
  return ir::dropout(x, ir::cast(step, ir::DType::I32), p, seed);
}

} // namespace kiln::detail
