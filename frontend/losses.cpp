#include "frontend/losses.h"

#include "base/error.h"

namespace kiln {
namespace detail {

namespace {

void require_same(const char* loss, const ir::Val& f, const ir::Val& c) {
  if (f.shape() != c.shape() || !is_float(c.dtype()))
    throw ShapeError(str("[", loss, "] the prediction ", f.type(), " and the target ", c.type(),
                         " must have the same shape and a float dtype"));
}

void require_batch(const char* loss, const ir::Val& f) {
  if (f.rank() < 1 || f.shape()[0] != ir::kBatch)
    throw ShapeError(str("[", loss, "] expects a batch of predictions [N, ...], got ", f.type()));
}

std::vector<int64_t> feature_axes(const ir::Val& f) {
  std::vector<int64_t> axes;
  for (int i = 1; i < f.rank(); ++i)
    axes.push_back(i);
  return axes;
}

/** f shifted by its (constant) row max, so exp stays in range and large logits keep digits. */
ir::Val shifted_logits(const ir::Val& f) {
  const int64_t last = f.rank() - 1;
  const ir::Val m = ir::stop_gradient(ir::max(f, {last}));
  return f - ir::expand_to(m, f.shape(), {last});
}

// log(sum(exp(s))) over the last axis of shifted logits s.
ir::Val logsumexp_shifted(const ir::Val& s) {
  return ir::log(ir::sum(ir::exp(s), {s.rank() - 1}));
}

void check_logits(const char* what, const ir::Val& f, int64_t classes) {
  require_batch(what, f);
  if (f.rank() != 2)
    throw ShapeError(str("[", what, "] expects logits [N, classes], got ", f.type()));
  if (classes > 0 && f.shape()[1] != classes)
    throw ShapeError(str("[", what, "] the network has ", f.shape()[1],
                         " outputs but the labels have ", classes, " classes"));
}

} // namespace

ir::Val lower_least_squares(const ir::Val& f, const ir::Val& c) {
  require_same("least_squares", f, c);
  require_batch("least_squares", f);
  return 0.5 * ir::mean(ir::sum(ir::square(f - c), feature_axes(f)), {0});
}

ir::Val lower_mse(const ir::Val& f, const ir::Val& c) {
  require_same("mse", f, c);
  return ir::mean_all(ir::square(f - c));
}

ir::Val lower_cross_entropy(const ir::Val& f, const ir::Val& c, int64_t classes) {
  check_logits("cross_entropy", f, classes);
  if (!is_float(c.dtype())) {
    if (c.shape() != ir::Shape{ir::kBatch})
      throw ShapeError(str("[cross_entropy] labels must be [N], got ", c.type()));
    // lse(f) - f_c, computed as lse(s) - s_c with s = f - max(f): no digits lost to the max.
    const ir::Val s = shifted_logits(f);
    return ir::mean(logsumexp_shifted(s) - ir::gather(s, c), {0});
  }
  require_same("cross_entropy", f, c);
  // -sum_k c_k log softmax(f)_k = sum_k c_k (lse(s) - s_k)
  const ir::Val s = shifted_logits(f);
  const ir::Val lse = ir::expand_to(logsumexp_shifted(s), f.shape(), {1});
  return ir::mean(ir::sum(c * (lse - s), {1}), {0});
}

ir::Val lower_accuracy(const ir::Val& f, const ir::Val& labels, int64_t classes) {
  check_logits("accuracy", f, classes);
  if (is_float(labels.dtype()) || labels.shape() != ir::Shape{ir::kBatch})
    throw ShapeError(str("[accuracy] labels must be integer [N], got ", labels.type()));
  const ir::Val hit = ir::greater_equal(ir::gather(f, labels), ir::max(f, {1}));
  return ir::mean(hit, {0});
}

} // namespace detail

namespace {
/** Sum of the squared entries of several expressions. */
struct SumOfSquares : ExprBase<SumOfSquares> {
  using StaticShape = Dims<>;
  std::vector<Expr> items;
  ir::Val lower(LowerCtx& c) const {
    if (items.empty())
      throw Error("[l2] needs at least one parameter");
    ir::Val total = ir::sum_all(ir::square(items[0].lower(c)));
    for (size_t i = 1; i < items.size(); ++i)
      total = total + ir::sum_all(ir::square(items[i].lower(c)));
    return total;
  }
};
} // namespace

Expr l2(const std::vector<Expr>& params, double lambda) {
  return (0.5 * lambda) * SumOfSquares{{}, params};
}

} // namespace kiln
