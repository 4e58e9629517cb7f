#pragma once
// Compile-time shapes for the DSL. An expression whose dims are all known at compile time
// carries them in its type, so a mismatch is a compile error (a static_assert that reads as a
// sentence). Expressions built from runtime dims carry AnyShape and are checked when lowered.

#include <cstdint>
#include <utility>

namespace kiln {

/** The batch dim in a static shape. */
inline constexpr int64_t kN = -1;
/** A dim not known at compile time. */
inline constexpr int64_t kAnyDim = 0;

/** A compile-time shape of known rank. */
template <int64_t... D>
struct Dims {
  static constexpr int rank = sizeof...(D);
  static constexpr int64_t dims[sizeof...(D) + 1] = {D..., 0};
};

/** A shape not known at compile time (not even its rank). */
struct AnyShape {};

namespace shape {

template <class S>
inline constexpr bool is_static = false;
template <int64_t... D>
inline constexpr bool is_static<Dims<D...>> = true;

constexpr bool dims_match(int64_t a, int64_t b) {
  return a == b || a == kAnyDim || b == kAnyDim;
}

/** Do two static shapes broadcast (numpy rules; unknown dims match anything)? */
template <class A, class B>
constexpr bool broadcastable() {
  if constexpr (!is_static<A> || !is_static<B>) {
    return true;
  } else {
    for (int i = 1; i <= A::rank && i <= B::rank; ++i) {
      const int64_t a = A::dims[A::rank - i], b = B::dims[B::rank - i];
      if (!(dims_match(a, b) || a == 1 || b == 1))
        return false;
    }
    return true;
  }
}

template <class A, class B, int... I>
constexpr auto broadcast_impl(std::integer_sequence<int, I...>) {
  constexpr int r = A::rank > B::rank ? A::rank : B::rank;
  [[maybe_unused]] constexpr auto pick = [](int i) {
    const int ia = i - (r - A::rank), ib = i - (r - B::rank);
    const int64_t a = ia >= 0 ? A::dims[ia] : 1, b = ib >= 0 ? B::dims[ib] : 1;
    return a == 1 ? b : a;
  };
  return Dims<pick(I)...>{};
}

template <class A, class B>
constexpr auto broadcast_shape() {
  if constexpr (is_static<A> && is_static<B>)
    return broadcast_impl<A, B>(
        std::make_integer_sequence<int, (A::rank > B::rank ? A::rank : B::rank)>{});
  else
    return AnyShape{};
}

/** The shape two static shapes broadcast to, or AnyShape. */
template <class A, class B>
using Broadcast = decltype(broadcast_shape<A, B>());

template <class S>
constexpr bool is_batch_matrix() {
  if constexpr (is_static<S>)
    return S::rank == 2 && S::dims[0] == kN;
  else
    return false;
}

/** Result shape of the DSL's matrix product `a * b` (see frontend/ops.h for its meaning). */
template <class A, class B>
constexpr auto matmul_shape() {
  if constexpr (!is_static<A> || !is_static<B>) {
    return AnyShape{};
  } else {
    static_assert(
        A::rank == 2 && (B::rank == 1 || B::rank == 2),
        "matrix product: the left operand must be a matrix and the right one a matrix or a vector");
    constexpr bool a_batch = is_batch_matrix<A>(), b_batch = is_batch_matrix<B>();
    static_assert(
        !(a_batch && b_batch),
        "matrix product: both operands are batches; use kiln::mul for an elementwise product");
    if constexpr (b_batch) {
      // A applied to each sample: [m, k] * [N, k] -> [N, m]
      static_assert(
          dims_match(A::dims[1], B::dims[1]),
          "matrix product: the columns of the matrix must equal the features of each sample");
      return Dims<kN, A::dims[0]>{};
    } else if constexpr (B::rank == 1) {
      static_assert(
          dims_match(A::dims[1], B::dims[0]),
          "matrix product: the columns of the matrix must equal the length of the vector");
      return Dims<A::dims[0]>{};
    } else {
      static_assert(
          dims_match(A::dims[1], B::dims[0]),
          "matrix product: the columns of the left operand must equal the rows of the right one");
      return Dims<A::dims[0], B::dims[1]>{};
    }
  }
}

template <class A, class B>
using MatMul = decltype(matmul_shape<A, B>());

/** Result shape of kiln::matmul(a, b), the plain product [m, k] [k, n] or [m, k] [k]. */
template <class A, class B>
constexpr auto plain_matmul_shape() {
  if constexpr (!is_static<A> || !is_static<B>) {
    return AnyShape{};
  } else {
    static_assert(
        A::rank == 2 && (B::rank == 1 || B::rank == 2),
        "matmul: the left operand must be a matrix and the right one a matrix or a vector");
    static_assert(dims_match(A::dims[1], B::dims[0]),
                  "matmul: the columns of the left operand must equal the rows of the right one");
    if constexpr (B::rank == 1)
      return Dims<A::dims[0]>{};
    else
      return Dims<A::dims[0], B::dims[1]>{};
  }
}

template <class A, class B>
using PlainMatMul = decltype(plain_matmul_shape<A, B>());

/** Scalar (rank 0). */
template <class S>
constexpr bool is_scalar() {
  if constexpr (is_static<S>)
    return S::rank == 0;
  else
    return false;
}

} // namespace shape
} // namespace kiln
