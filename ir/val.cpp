#include "ir/val.h"

#include <algorithm>

#include "base/error.h"

namespace kiln::ir {

Shape broadcast_shapes(std::string_view op, const Type& a, const Type& b) {
  const int ra = a.shape.rank(), rb = b.shape.rank(), r = std::max(ra, rb);
  std::vector<int64_t> out(static_cast<size_t>(r));
  for (int i = 0; i < r; ++i) {
    const int64_t da = i < r - ra ? 1 : a.shape[i - (r - ra)];
    const int64_t db = i < r - rb ? 1 : b.shape[i - (r - rb)];
    if (da == db || db == 1)
      out[static_cast<size_t>(i)] = da;
    else if (da == 1)
      out[static_cast<size_t>(i)] = db;
    else
      throw ShapeError(str("[", op, "] operand shapes do not broadcast: ", a, " and ", b,
                           " (dims must be equal, or one of them 1)"));
  }
  return Shape(std::move(out));
}

Val apply(Op op, std::span<const Val> in, Attrs attrs) {
  KILN_ASSERT(!in.empty(), "apply needs operands");
  std::vector<NodeId> ids;
  for (const Val& v : in)
    ids.push_back(v.id());
  Builder& b = in[0].builder();
  return {b, b.make(op, std::move(ids), std::move(attrs))};
}

Val elementwise(Op op, std::span<const Val> in, Attrs attrs) {
  Shape shape = in[0].shape();
  for (size_t i = 1; i < in.size(); ++i)
    shape = broadcast_shapes(op_name(op), Type{in[0].dtype(), shape}, in[i].type());
  std::vector<Val> args;
  for (const Val& v : in)
    args.push_back(broadcast_to(v, shape));
  return apply(op, args, std::move(attrs));
}

Val constant(Builder& b, double value, Type type) {
  return {b, b.constant(value, std::move(type))};
}
Val constant_like(const Val& like, double value) {
  return constant(like.builder(), value, like.type());
}

static Val binary(Op op, const Val& a, const Val& b) {
  const Val in[] = {a, b};
  return elementwise(op, in);
}
static Val unary(Op op, const Val& x, Attrs attrs = {}) {
  const Val in[] = {x};
  return apply(op, in, std::move(attrs));
}
// A number next to a Val becomes a constant of that Val's type, not a broadcast scalar.
static Val like(const Val& a, double c) {
  return constant_like(a, c);
}

Val operator+(const Val& a, const Val& b) {
  return binary(Op::Add, a, b);
}
Val operator-(const Val& a, const Val& b) {
  return binary(Op::Sub, a, b);
}
Val operator*(const Val& a, const Val& b) {
  return binary(Op::Mul, a, b);
}
Val operator/(const Val& a, const Val& b) {
  return binary(Op::Div, a, b);
}
Val operator+(const Val& a, double c) {
  return a + like(a, c);
}
Val operator-(const Val& a, double c) {
  return a - like(a, c);
}
Val operator*(const Val& a, double c) {
  return a * like(a, c);
}
Val operator/(const Val& a, double c) {
  return a / like(a, c);
}
Val operator+(double c, const Val& a) {
  return like(a, c) + a;
}
Val operator-(double c, const Val& a) {
  return like(a, c) - a;
}
Val operator*(double c, const Val& a) {
  return like(a, c) * a;
}
Val operator/(double c, const Val& a) {
  return like(a, c) / a;
}
Val operator-(const Val& a) {
  return unary(Op::Neg, a);
}

Val abs(const Val& x) {
  return unary(Op::Abs, x);
}
Val cos(const Val& x) {
  return unary(Op::Cos, x);
}
Val erf(const Val& x) {
  return unary(Op::Erf, x);
}
Val exp(const Val& x) {
  return unary(Op::Exp, x);
}
Val log(const Val& x) {
  return unary(Op::Log, x);
}
Val relu(const Val& x) {
  return unary(Op::Relu, x);
}
Val sigmoid(const Val& x) {
  return unary(Op::Sigmoid, x);
}
Val sin(const Val& x) {
  return unary(Op::Sin, x);
}
Val sqrt(const Val& x) {
  return unary(Op::Sqrt, x);
}
Val square(const Val& x) {
  return unary(Op::Square, x);
}
Val stop_gradient(const Val& x) {
  return unary(Op::StopGradient, x);
}
Val tanh(const Val& x) {
  return unary(Op::Tanh, x);
}
Val cast(const Val& x, DType to) {
  if (x.dtype() == to)
    return x;
  return unary(Op::Cast, x, Attrs().set("dtype", std::string(to_string(to))));
}

Val pow(const Val& x, const Val& y) {
  return binary(Op::Pow, x, y);
}
Val pow(const Val& x, double y) {
  return pow(x, like(x, y));
}
Val maximum(const Val& a, const Val& b) {
  return binary(Op::Maximum, a, b);
}
Val minimum(const Val& a, const Val& b) {
  return binary(Op::Minimum, a, b);
}
Val maximum(const Val& a, double c) {
  return maximum(a, like(a, c));
}
Val less(const Val& a, const Val& b) {
  return binary(Op::Less, a, b);
}
Val less_equal(const Val& a, const Val& b) {
  return binary(Op::LessEqual, a, b);
}
Val greater(const Val& a, const Val& b) {
  return binary(Op::Greater, a, b);
}
Val greater_equal(const Val& a, const Val& b) {
  return binary(Op::GreaterEqual, a, b);
}
Val equal(const Val& a, const Val& b) {
  return binary(Op::Equal, a, b);
}
Val not_equal(const Val& a, const Val& b) {
  return binary(Op::NotEqual, a, b);
}
Val greater(const Val& a, double c) {
  return greater(a, like(a, c));
}
Val less(const Val& a, double c) {
  return less(a, like(a, c));
}
Val select(const Val& cond, const Val& a, const Val& b) {
  const Val in[] = {cond, a, b};
  return elementwise(Op::Select, in);
}

Val reduce(Op op, const Val& x, std::vector<int64_t> axes) {
  if (axes.empty())
    return x;
  for (int64_t& a : axes)
    if (a < 0)
      a += x.rank();
  std::sort(axes.begin(), axes.end());
  return unary(op, x, Attrs().set("axes", std::move(axes)));
}
Val sum(const Val& x, std::vector<int64_t> axes) {
  return reduce(Op::Sum, x, std::move(axes));
}
Val mean(const Val& x, std::vector<int64_t> axes) {
  return reduce(Op::Mean, x, std::move(axes));
}
Val max(const Val& x, std::vector<int64_t> axes) {
  return reduce(Op::Max, x, std::move(axes));
}

static std::vector<int64_t> all_axes(const Val& x) {
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < x.rank(); ++i)
    axes.push_back(i);
  return axes;
}
Val sum_all(const Val& x) {
  return sum(x, all_axes(x));
}
Val mean_all(const Val& x) {
  return mean(x, all_axes(x));
}

Val broadcast_to(const Val& x, const Shape& shape) {
  if (x.shape() == shape)
    return x;
  return unary(Op::Broadcast, x, Attrs().set("shape", shape.dims()));
}

Val reshape(const Val& x, const Shape& shape) {
  if (x.shape() == shape)
    return x;
  return unary(Op::Reshape, x, Attrs().set("shape", shape.dims()));
}

Val transpose(const Val& x, std::vector<int64_t> perm) {
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == static_cast<int64_t>(i);
  if (identity && static_cast<int>(perm.size()) == x.rank())
    return x;
  return unary(Op::Transpose, x, Attrs().set("perm", std::move(perm)));
}

Val transpose(const Val& x) {
  return transpose(x, {1, 0});
}

Val matmul(const Val& a, const Val& b, bool transpose_a, bool transpose_b) {
  const Val in[] = {a, b};
  return apply(Op::MatMul, in,
               Attrs().set("ta", transpose_a ? 1 : 0).set("tb", transpose_b ? 1 : 0));
}

Val concat(std::span<const Val> parts, int64_t axis) {
  if (parts.size() == 1)
    return parts[0];
  if (axis < 0)
    axis += parts[0].rank();
  return apply(Op::Concat, parts, Attrs().set("axis", axis));
}

Val slice(const Val& x, int64_t axis, int64_t begin, int64_t end) {
  if (axis < 0)
    axis += x.rank();
  if (axis >= 0 && axis < x.rank() && begin == 0 && end == x.shape()[static_cast<int>(axis)])
    return x;
  return unary(Op::Slice, x, Attrs().set("axis", axis).set("begin", begin).set("end", end));
}

Val one_hot(const Val& labels, int64_t depth, DType dtype) {
  return unary(Op::OneHot, labels,
               Attrs().set("depth", depth).set("dtype", std::string(to_string(dtype))));
}

Val gather(const Val& x, const Val& idx) {
  const Val in[] = {x, idx};
  return apply(Op::Gather, in);
}

Val sum_to(const Val& x, const Shape& shape) {
  if (x.shape() == shape)
    return x;
  const int r = x.rank(), rs = shape.rank();
  KILN_ASSERT(rs <= r, "sum_to ", x.type(), " -> ", shape);
  std::vector<int64_t> axes;
  for (int i = 0; i < r; ++i) {
    const int j = i - (r - rs);
    if (j < 0 || (shape[j] == 1 && x.shape()[i] != 1))
      axes.push_back(i);
  }
  return reshape(sum(x, axes), shape);
}

Val expand_to(const Val& x, const Shape& shape, const std::vector<int64_t>& axes) {
  std::vector<int64_t> keep = shape.dims();
  for (int64_t a : axes)
    keep[static_cast<size_t>(a)] = 1;
  return broadcast_to(reshape(x, Shape(keep)), shape);
}

Val conv2d(const Val& x, const Val& w, const Attrs& attrs) {
  const Val in[] = {x, w};
  return apply(Op::Conv2d, in, attrs);
}

Val max_pool2d(const Val& x, const Attrs& attrs) {
  const Val in[] = {x, x};
  return apply(Op::MaxPool2d, in, attrs);
}

Val avg_pool2d(const Val& x, const Attrs& attrs) {
  const Val in[] = {x};
  return apply(Op::AvgPool2d, in, attrs);
}

Val dropout(const Val& x, const Val& step, double p, int64_t seed) {
  const Val in[] = {x, broadcast_to(step, x.shape())};
  return apply(Op::Dropout, in, Attrs().set("p", p).set("seed", seed));
}

} // namespace kiln::ir
