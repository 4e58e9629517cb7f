#pragma once
// Losses, metrics and regularizers of the course, as composites of the primitives. Each loss
// is averaged over the batch, so it is the mini-batch objective Phi_i of the slides.

#include <vector>

#include "frontend/ops.h"

namespace kiln {
namespace detail {

ir::Val lower_least_squares(const ir::Val& f, const ir::Val& c);
ir::Val lower_mse(const ir::Val& f, const ir::Val& c);
ir::Val lower_cross_entropy(const ir::Val& f, const ir::Val& c, int64_t classes);
ir::Val lower_accuracy(const ir::Val& f, const ir::Val& labels, int64_t classes);

template <class F, class C>
struct SameShape {
  static_assert(!shape::is_static<F> || !shape::is_static<C> || std::is_same_v<F, C>,
                "loss: the prediction and the target must have the same shape");
};

template <class F, class C, int64_t K>
struct ClassCount {
  static constexpr bool ok() {
    if constexpr (shape::is_static<F> && K > 0)
      return F::rank == 2 && shape::dims_match(F::dims[1], K);
    else
      return true;
  }
  static_assert(ok(), "cross_entropy: the network must have one output per class of the labels");
};

/** A loss between a prediction and a target; `classes` is 0 unless the labels say it. */
template <int64_t K>
struct LossTag {
  ir::Val (*fn)(const ir::Val&, const ir::Val&, int64_t);
  int64_t classes = 0;
  bool same_shape = false;
  template <class F, class C>
  using Shape = decltype((void)ClassCount<F, C, K>{}, Dims<>{});
  ir::Val lower(LowerCtx&, const ir::Val& f, const ir::Val& c) const { return fn(f, c, classes); }
};

template <class C>
constexpr int64_t static_classes() {
  if constexpr (requires { C::kStaticClasses; })
    return C::kStaticClasses;
  else
    return 0;
}
template <class C>
int64_t runtime_classes(const C& c) {
  if constexpr (requires { c.num_classes(); })
    return c.num_classes();
  else
    return 0;
}

} // namespace detail

/** 1/2 ||F - c||^2 per sample, averaged over the batch (the course's least squares). */
template <Expression F, Expression C>
auto least_squares(const F& f, const C& c) {
  (void)detail::SameShape<typename F::StaticShape, typename C::StaticShape>{};
  return make_apply(detail::LossTag<0>{[](const ir::Val& a, const ir::Val& b, int64_t) {
                      return detail::lower_least_squares(a, b);
                    }},
                    f, c);
}

/** Mean of (F - c)^2 over every element, as PyTorch's MSELoss. */
template <Expression F, Expression C>
auto mse(const F& f, const C& c) {
  (void)detail::SameShape<typename F::StaticShape, typename C::StaticShape>{};
  return make_apply(detail::LossTag<0>{[](const ir::Val& a, const ir::Val& b, int64_t) {
                      return detail::lower_mse(a, b);
                    }},
                    f, c);
}

/**
 * Softmax cross-entropy averaged over the batch, computed stably (log-sum-exp with the max
 * subtracted). `c` holds integer class labels (Labels) or per-class probabilities (a float
 * target of F's shape). Its gradient with respect to F is softmax(F) - c.
 */
template <Expression F, Expression C>
auto cross_entropy(const F& f, const C& c) {
  return make_apply(detail::LossTag<detail::static_classes<C>()>{detail::lower_cross_entropy,
                                                                 detail::runtime_classes(c)},
                    f, c);
}

/** Fraction of samples whose largest output is their label's (ties count as right). */
template <Expression F, Expression C>
auto accuracy(const F& f, const C& labels) {
  return make_apply(detail::LossTag<detail::static_classes<C>()>{detail::lower_accuracy,
                                                                 detail::runtime_classes(labels)},
                    f, labels);
}

/** The regularizer R(theta) = lambda/2 * sum of squared entries of the given parameters. */
Expr l2(const std::vector<Expr>& params, double lambda);

} // namespace kiln
