// Reductions over a set of axes; the reduced axes are dropped from the shape.

#include <algorithm>
#include <limits>

#include "ir/node.h"
#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {

Type reduce_rule(const InferCtx& c) {
  const Shape& s = c.in[0].shape;
  const std::vector<int64_t> axes = axes_attr(c, "axes", s.rank());
  std::vector<int64_t> out;
  for (int i = 0; i < s.rank(); ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end())
      out.push_back(s[i]);
  return Type{c.in[0].dtype, Shape(std::move(out))};
}

Type float_reduce_rule(const InferCtx& c) {
  require_float(c, 0);
  return reduce_rule(c);
}

// Maps every input element to its output element by dropping the reduced axes, and folds it in
// with the op's rule.
Tensor reduce_eval(const EvalCtx& c) {
  const ReduceRule& rule = *c.node.def().reduce;
  const Tensor& x = *c.in[0];
  const std::vector<int64_t>& axes = c.node.attrs.ints("axes");
  Tensor out(c.node.type.dtype, c.out_dims, rule.identity);
  std::vector<int64_t> idx(x.dims.size(), 0);
  const std::vector<int64_t> ostr = out.strides();
  for (int64_t flat = 0; flat < x.numel(); ++flat) {
    int64_t o = 0, k = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(d)) == axes.end())
        o += idx[d] * ostr[static_cast<size_t>(k++)];
    out[o] = rule.combine(out[o], x[flat]);
    for (int d = static_cast<int>(idx.size()) - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < x.dims[static_cast<size_t>(d)])
        break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  if (rule.finalize) {
    const double count =
        static_cast<double>(x.numel()) / static_cast<double>(std::max<int64_t>(out.numel(), 1));
    for (double& v : out.data)
      v = rule.finalize(v, count);
  }
  return out;
}

// The folds. A max keeps NaN out of the accumulator as `a < v ? v : a` does in C.
constexpr ReduceRule kSumRule{
    .identity = 0.0,
    .combine = [](double a, double v) { return a + v; },
    .combine_c = "{0} += {1};",
    .of_splat = [](double c, double n) { return c * n; },
    .of_splat_c = "({0} * ({T})({1}))",
};
constexpr ReduceRule kMeanRule{
    .identity = 0.0,
    .combine = [](double a, double v) { return a + v; },
    .combine_c = "{0} += {1};",
    .finalize = [](double a, double n) { return a / n; },
    .finalize_c = "({0} / ({T})({1}))",
    .of_splat = [](double c, double) { return c; },
    .of_splat_c = "{0}",
};
constexpr ReduceRule kMaxRule{
    .identity = -std::numeric_limits<double>::infinity(),
    .combine = [](double a, double v) { return a < v ? v : a; },
    .combine_c = "{0} = {0} < {1} ? {1} : {0};",
    .of_splat = [](double c, double) { return c; },
    .of_splat_c = "{0}",
};

constexpr ReduceRule kMinRule{
    .identity = std::numeric_limits<double>::infinity(),
    .combine = [](double a, double v) { return v < a ? v : a; },
    .combine_c = "{0} = {1} < {0} ? {1} : {0};",
    .of_splat = [](double c, double) { return c; },
    .of_splat_c = "{0}",
};

/** Number of elements each output of a reduction of `x` over `axes` summarizes, as IR. */
Val reduced_count(const Val& x, const std::vector<int64_t>& axes) {
  return sum(constant_like(x, 1.0), axes);
}

/** Max and min: the cotangent goes to the elements equal to the result, split evenly between ties.
 */
std::vector<NodeId> extremum_vjp(VjpCtx& c) {
  const Val x = in(c, 0);
  const auto axes = attrs(c).ints("axes");
  const Val hit = equal(x, expand_to(out(c), x.shape(), axes));
  const Val share = grad(c) / sum(hit, axes);
  return grads({hit * expand_to(share, x.shape(), axes)});
}

/** Max and min: the tangent of the elements equal to the result, averaged over ties. */
NodeId extremum_jvp(JvpCtx& c) {
  const Val x = in(c, 0);
  const auto axes = attrs(c).ints("axes");
  const Val hit = equal(x, expand_to(out(c), x.shape(), axes));
  return (sum(hit * dot(c, 0), axes) / sum(hit, axes)).id();
}

} // namespace

const OpDef kMaxDef{
    .name = "max",
    .kind = OpKind::Reduce,
    .arity = 1,
    .infer = reduce_rule,
    .vjp = extremum_vjp,
    .jvp = extremum_jvp,
    .eval = reduce_eval,
    .reduce = &kMaxRule,
};

const OpDef kMeanDef{
    .name = "mean",
    .kind = OpKind::Reduce,
    .arity = 1,
    .infer = float_reduce_rule,
    // d mean(x) / dx_i = 1 / count
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0);
          const auto axes = attrs(c).ints("axes");
          return grads({expand_to(grad(c) / reduced_count(x, axes), x.shape(), axes)});
        },
    .jvp = [](JvpCtx& c) { return mean(dot(c, 0), attrs(c).ints("axes")).id(); },
    .eval = reduce_eval,
    .reduce = &kMeanRule,
};

const OpDef kMinDef{
    .name = "min",
    .kind = OpKind::Reduce,
    .arity = 1,
    .infer = reduce_rule,
    .vjp = extremum_vjp,
    .jvp = extremum_jvp,
    .eval = reduce_eval,
    .reduce = &kMinRule,
};

const OpDef kSumDef{
    .name = "sum",
    .kind = OpKind::Reduce,
    .arity = 1,
    .infer = reduce_rule,
    // d sum(x) / dx_i = 1
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0);
          return grads({expand_to(grad(c), x.shape(), attrs(c).ints("axes"))});
        },
    .jvp = [](JvpCtx& c) { return sum(dot(c, 0), attrs(c).ints("axes")).id(); },
    .eval = reduce_eval,
    .reduce = &kSumRule,
};

} // namespace kiln::ir
