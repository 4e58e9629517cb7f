#pragma once
// The DSL's operations. They only build expressions; frontend/ops.cpp says how each lowers.
//
//   a + b, a - b, -a, a / b   elementwise, numpy broadcasting; numbers are scalars
//   a * b                     a number (or a scalar expression, such as a learnable
//                             coefficient) times an expression scales it; between two expressions
//                             it is the matrix product of the math: a matrix times a batch of
//                             samples applies it to each sample (K * y is y K^T in row-major
//                             data), otherwise the plain matrix product
//   mul(a, b)                 the elementwise (Hadamard) product

#include <vector>

#include "frontend/expr.h"

namespace kiln {
namespace detail {

template <class... S>
struct BroadcastAll;
template <class S>
struct BroadcastAll<S> {
  using type = S;
};
template <class A, class B, class... R>
struct BroadcastAll<A, B, R...> {
  static_assert(shape::broadcastable<A, B>(),
                "elementwise operation: operand shapes must be equal or broadcastable "
                "(right-aligned dims must be equal, or one of them 1)");
  using type = typename BroadcastAll<shape::Broadcast<A, B>, R...>::type;
};

/** An elementwise IR op over broadcast operands. */
template <ir::Op O>
struct MapTag {
  template <class... S>
  using Shape = typename BroadcastAll<S...>::type;
  template <class... V>
  ir::Val lower(LowerCtx&, const V&... v) const {
    const ir::Val in[] = {v...};
    return ir::elementwise(O, in);
  }
};

ir::Val lower_matmul(const ir::Val& a, const ir::Val& b);
ir::Val lower_plain_matmul(const ir::Val& a, const ir::Val& b);

/** `a * b`: a matrix applied to each sample of a batch, else the plain product. */
struct MatMulTag {
  template <class A, class B>
  using Shape = shape::MatMul<A, B>;
  ir::Val lower(LowerCtx&, const ir::Val& a, const ir::Val& b) const { return lower_matmul(a, b); }
};

ir::Val lower_rows(const ir::Val& w, const ir::Val& x);

/** The matrix w [out, in] applied to every row of x [rows, in]: x w^T. */
struct RowsTag {
  template <class W, class X>
  using Shape = AnyShape;
  ir::Val lower(LowerCtx&, const ir::Val& w, const ir::Val& x) const { return lower_rows(w, x); }
};

/** kiln::matmul(a, b): always the plain product, whatever the operands hold. */
struct PlainMatMulTag {
  template <class A, class B>
  using Shape = shape::PlainMatMul<A, B>;
  ir::Val lower(LowerCtx&, const ir::Val& a, const ir::Val& b) const {
    return lower_plain_matmul(a, b);
  }
};

ir::Val lower_reduce(ir::Op op, const ir::Val& x, std::vector<int64_t> axes, bool all);

/** A reduction over every axis: a scalar. */
template <ir::Op O>
struct ReduceAllTag {
  template <class S>
  using Shape = Dims<>;
  ir::Val lower(LowerCtx&, const ir::Val& x) const { return lower_reduce(O, x, {}, true); }
};

/** A reduction over some axes (negative axes count from the end). */
template <ir::Op O>
struct ReduceTag {
  std::vector<int64_t> axes;
  template <class S>
  using Shape = AnyShape;
  ir::Val lower(LowerCtx&, const ir::Val& x) const { return lower_reduce(O, x, axes, false); }
};

template <class E>
struct ScalarCheck {
  static_assert(!shape::is_static<E> || shape::is_scalar<E>(),
                "grad: the differentiated expression must be a scalar; reduce it with sum or mean");
};

/** The directional derivative of e moving wrt by v, by forward-mode symbolic differentiation. */
struct JvpTag {
  template <class E, class W, class V>
  using Shape = E;
  ir::Val lower(LowerCtx& c, const ir::Val& e, const ir::Val& wrt, const ir::Val& v) const;
};

/** Derivatives of e by column j of x ([N, d], rows independent), `order` times, forward mode. */
struct ColumnDerivTag {
  int64_t column;
  int order;
  template <class E, class X>
  using Shape = E;
  ir::Val lower(LowerCtx& c, const ir::Val& e, const ir::Val& x) const;
};

/** d(scalar)/d(wrt), by reverse-mode symbolic differentiation. */
struct GradTag {
  template <class E, class W>
  using Shape = decltype((void)ScalarCheck<E>{}, W{});
  ir::Val lower(LowerCtx& c, const ir::Val& e, const ir::Val& wrt) const;
};

/** Any other op whose lowering is a plain function of its operands' IR. */
struct FnTag {
  ir::Val (*fn)(const std::vector<ir::Val>& in, const std::vector<int64_t>& ints);
  std::vector<int64_t> ints;
  template <class... S>
  using Shape = AnyShape;
  template <class... V>
  ir::Val lower(LowerCtx&, const V&... v) const {
    return fn({v...}, ints);
  }
};

ir::Val lower_concat(const std::vector<ir::Val>& in, const std::vector<int64_t>& axis);
ir::Val lower_transpose(const std::vector<ir::Val>& in, const std::vector<int64_t>&);
ir::Val lower_columns(const std::vector<ir::Val>& in, const std::vector<int64_t>& range);
ir::Val lower_reshape(const std::vector<ir::Val>& in, const std::vector<int64_t>& dims);
ir::Val lower_flatten(const std::vector<ir::Val>& in, const std::vector<int64_t>& range);
ir::Val lower_dropout(LowerCtx& c, const ir::Val& x, double p, int64_t seed);

/** dropout(x, p): the identity unless lowered for training. */
struct DropoutTag {
  double p;
  int64_t seed;
  template <class X>
  using Shape = X;
  ir::Val lower(LowerCtx& c, const ir::Val& x) const { return lower_dropout(c, x, p, seed); }
};

template <ir::Op O, class... X>
auto map(const X&... x) {
  return make_apply(MapTag<O>{}, as_expr(x)...);
}

} // namespace detail

// Elementwise arithmetic. At least one operand is an expression; numbers become scalars.
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) auto operator+(const A& a, const B& b) {
  return detail::map<ir::Op::Add>(a, b);
}
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) auto operator-(const A& a, const B& b) {
  return detail::map<ir::Op::Sub>(a, b);
}
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) auto operator/(const A& a, const B& b) {
  return detail::map<ir::Op::Div>(a, b);
}
template <Expression A>
auto operator-(const A& a) {
  return detail::map<ir::Op::Neg>(a);
}
/** Matrix product between expressions; scaling when one side is a number. */
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) auto operator*(const A& a, const B& b) {
  if constexpr (Expression<A> && Expression<B>)
    return make_apply(detail::MatMulTag{}, a, b);
  else
    return detail::map<ir::Op::Mul>(a, b);
}

/** Elementwise (Hadamard) product. */
template <Operand A, Operand B>
requires(Expression<A> || Expression<B>) auto mul(const A& a, const B& b) {
  return detail::map<ir::Op::Mul>(a, b);
}
/**
 * The weights w [out, in] applied to every row of x [rows, in] (a batch, or a point set with its
 * own row count): x w^T, as torch.nn.functional.linear. The layers use it.
 */
template <Expression X, Expression W>
auto linear(const X& x, const W& w) {
  // w lowers first: the order nodes are made in is what listings and kernel caches see.
  return make_apply(detail::RowsTag{}, w, x);
}
/** linear(x, w) + b. */
template <Expression X, Expression W, Expression B>
auto linear(const X& x, const W& w, const B& b) {
  return linear(x, w) + b;
}

/**
 * The plain matrix product (no per-sample interpretation): a [m, k] times b [k, n] or b [k].
 * k may be the batch dim: matmul(transpose(y), g) sums over the samples.
 */
template <Expression A, Expression B>
auto matmul(const A& a, const B& b) {
  return make_apply(detail::PlainMatMulTag{}, a, b);
}

// Elementwise functions (primitives).
template <Expression X>
auto abs(const X& x) {
  return detail::map<ir::Op::Abs>(x);
}
template <Expression X>
auto cos(const X& x) {
  return detail::map<ir::Op::Cos>(x);
}
template <Expression X>
auto erf(const X& x) {
  return detail::map<ir::Op::Erf>(x);
}
template <Expression X>
auto exp(const X& x) {
  return detail::map<ir::Op::Exp>(x);
}
template <Expression X>
auto log(const X& x) {
  return detail::map<ir::Op::Log>(x);
}
template <Expression X>
auto relu(const X& x) {
  return detail::map<ir::Op::Relu>(x);
}
template <Expression X>
auto sigmoid(const X& x) {
  return detail::map<ir::Op::Sigmoid>(x);
}
template <Expression X>
auto sin(const X& x) {
  return detail::map<ir::Op::Sin>(x);
}
template <Expression X>
auto sqrt(const X& x) {
  return detail::map<ir::Op::Sqrt>(x);
}
template <Expression X>
auto square(const X& x) {
  return detail::map<ir::Op::Square>(x);
}
template <Expression X>
auto softsign(const X& x) {
  return detail::map<ir::Op::Softsign>(x);
}
template <Expression X>
auto tanh(const X& x) {
  return detail::map<ir::Op::Tanh>(x);
}
/** The identity, with a zero derivative. */
template <Expression X>
auto detach(const X& x) {
  return detail::map<ir::Op::StopGradient>(x);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto pow(const X& x, const Y& y) {
  return detail::map<ir::Op::Pow>(x, y);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto maximum(const X& x, const Y& y) {
  return detail::map<ir::Op::Maximum>(x, y);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto minimum(const X& x, const Y& y) {
  return detail::map<ir::Op::Minimum>(x, y);
}
/** 1 where a > b, else 0 (and likewise below); flat, so no gradient flows through them. */
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto greater(const X& a, const Y& b) {
  return detail::map<ir::Op::Greater>(a, b);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto less(const X& a, const Y& b) {
  return detail::map<ir::Op::Less>(a, b);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto greater_equal(const X& a, const Y& b) {
  return detail::map<ir::Op::GreaterEqual>(a, b);
}
template <Operand X, Operand Y>
requires(Expression<X> || Expression<Y>) auto less_equal(const X& a, const Y& b) {
  return detail::map<ir::Op::LessEqual>(a, b);
}
/** a where cond != 0, else b. */
template <Operand C, Operand A, Operand B>
auto where(const C& cond, const A& a, const B& b) {
  return detail::map<ir::Op::Select>(cond, a, b);
}

// Activations that are composites of the primitives (their derivatives come for free).
/** log(1 + e^x), computed without overflow as relu(x) + log(1 + e^-|x|). */
template <Expression X>
auto softplus(const X& x) {
  return relu(x) + log(1.0 + exp(-abs(x)));
}
/** x for x > 0, slope * x below (PyTorch's default slope 0.01). */
template <Expression X>
auto leaky_relu(const X& x, double slope = 0.01) {
  return relu(x) - slope * relu(-x);
}
/** x Phi(x) with the exact normal CDF, as PyTorch's default GELU. */
template <Expression X>
auto gelu(const X& x) {
  return 0.5 * mul(x, 1.0 + erf(x * 0.7071067811865476));
}
/** x sigmoid(x) (also called swish). */
template <Expression X>
auto silu(const X& x) {
  return mul(x, sigmoid(x));
}
/** x for x > 0, e^x - 1 below. */
template <Expression X>
auto elu(const X& x) {
  return where(greater(x, 0.0), x, exp(minimum(x, 0.0)) - 1.0);
}

// Reductions.
template <Expression X>
auto sum(const X& x) {
  return make_apply(detail::ReduceAllTag<ir::Op::Sum>{}, x);
}
template <Expression X>
auto mean(const X& x) {
  return make_apply(detail::ReduceAllTag<ir::Op::Mean>{}, x);
}
template <Expression X>
auto sum(const X& x, std::vector<int64_t> axes) {
  return make_apply(detail::ReduceTag<ir::Op::Sum>{std::move(axes)}, x);
}
template <Expression X>
auto mean(const X& x, std::vector<int64_t> axes) {
  return make_apply(detail::ReduceTag<ir::Op::Mean>{std::move(axes)}, x);
}
template <Expression X>
auto max(const X& x, std::vector<int64_t> axes) {
  return make_apply(detail::ReduceTag<ir::Op::Max>{std::move(axes)}, x);
}
template <Expression X>
auto min(const X& x, std::vector<int64_t> axes) {
  return make_apply(detail::ReduceTag<ir::Op::Min>{std::move(axes)}, x);
}

// Any op of the registry (ir/op_list.h), for ops without a named function above.
/** An elementwise op over broadcast operands, e.g. kiln::elementwise<ir::Op::Erf>(x). */
template <ir::Op O, Operand... X>
requires(Expression<X> || ...) auto elementwise(const X&... x) {
  return detail::map<O>(x...);
}
/** A reduction over `axes` (negative axes count from the end), e.g. reduce<ir::Op::Max>(x, {1}). */
template <ir::Op O, Expression X>
auto reduce(const X& x, std::vector<int64_t> axes) {
  return make_apply(detail::ReduceTag<O>{std::move(axes)}, x);
}
/** A reduction over every axis: a scalar. */
template <ir::Op O, Expression X>
auto reduce_all(const X& x) {
  return make_apply(detail::ReduceAllTag<O>{}, x);
}

/** Concatenation along `axis` (negative counts from the end), e.g. DenseNet blocks on -1. */
template <Expression... X>
auto concat(int64_t axis, const X&... x) {
  return make_apply(detail::FnTag{detail::lower_concat, {axis}}, x...);
}
/** The matrix transpose. */
template <Expression X>
auto transpose(const X& x) {
  return make_apply(detail::FnTag{detail::lower_transpose, {}}, x);
}

/**
 * The derivative of `e` in the direction that moves `wrt` (an Input or a Param) by `v` (an
 * expression of wrt's shape): J v, by forward-mode symbolic differentiation, shaped like `e`.
 * It composes: jvp(jvp(e, x, v), x, v) is the second directional derivative.
 */
template <Expression E, Expression W, Operand V>
auto jvp(const E& e, const W& wrt, const V& v) {
  return make_apply(detail::JvpTag{}, e, wrt, as_expr(v));
}

/**
 * For a network applied to points x [N, d] (each row its own point): du/dx_j at every point,
 * with u = e, as an expression shaped like e ([N, outputs]). Forward mode, fused with the
 * values: the derivatives a physics-informed loss needs (u_t, u_x).
 */
template <Expression E, Expression X>
auto d(const E& e, const X& x, int64_t column) {
  return make_apply(detail::ColumnDerivTag{column, 1}, e, x);
}
/** d^2u/dx_j^2 at every point (see d). */
template <Expression E, Expression X>
auto d2(const E& e, const X& x, int64_t column) {
  return make_apply(detail::ColumnDerivTag{column, 2}, e, x);
}
/** The Laplacian, sum over j of d^2u/dx_j^2, at every point of x [N, d] (see d). */
template <Expression E, Expression X>
Expr laplacian(const E& e, const X& x, int64_t dims) {
  Expr sum_of = d2(e, x, 0);
  for (int64_t j = 1; j < dims; ++j)
    sum_of = sum_of + d2(e, x, j);
  return sum_of;
}

/** Columns [begin, end) of x [N, d] (negative count from the end): x[:, begin:end]. */
template <Expression X>
auto columns(const X& x, int64_t begin, int64_t end) {
  return make_apply(detail::FnTag{detail::lower_columns, {begin, end}}, x);
}
/** Column j of x [N, d] as [N, 1]: x[:, j:j+1]. */
template <Expression X>
auto column(const X& x, int64_t j) {
  return columns(x, j, j == -1 ? 0 : j + 1);
}

/**
 * The same elements in the row-major shape `dims`; the batch dim stays, written kN
 * (reshape(y, {kN, 1, 28, 28}) turns rows of 784 pixels into images).
 */
template <Expression X>
auto reshape(const X& x, std::vector<int64_t> dims) {
  return make_apply(detail::FnTag{detail::lower_reshape, std::move(dims)}, x);
}
/** Dims start_dim..end_dim (negative ones count from the end) merged into one, as torch.flatten;
    the default keeps the batch and flattens each sample. */
template <Expression X>
auto flatten(const X& x, int64_t start_dim = 1, int64_t end_dim = -1) {
  return make_apply(detail::FnTag{detail::lower_flatten, {start_dim, end_dim}}, x);
}

/**
 * Dropout: while training, each element is zeroed with probability p (0 <= p < 1) and the others
 * are scaled by 1 / (1 - p); otherwise the identity. Which elements drop is a hash of `seed`, the
 * training step and the element's position, so the forward and backward passes, the CPU and
 * CUDA agree, and every step draws a new mask. A graph is lowered for training by
 * lower(..., training = true); train::build does so for the step and not for evaluation.
 */
template <Expression X>
auto dropout(const X& x, double p = 0.5, int64_t seed = 0) {
  return make_apply(detail::DropoutTag{p, seed}, x);
}

/**
 * The derivative of the scalar expression `e` with respect to `wrt` (an Input or a Param),
 * shaped like `wrt`. It is an expression too, so it can be differentiated again:
 * grad(sum(grad(sum(u), x)), x) is d2u/dx2 per sample when u = F(x) has one output.
 */
template <Expression E, Expression W>
auto grad(const E& e, const W& wrt) {
  return make_apply(detail::GradTag{}, e, wrt);
}

} // namespace kiln
