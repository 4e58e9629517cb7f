#pragma once
// Building IR that reads like math. A Val is a node id plus the Builder that owns it; the
// operators and functions below call Builder::make. Binary elementwise operations broadcast
// their operands numpy-style (right-aligned; a dim of 1 stretches) by inserting `broadcast`
// nodes, and plain numbers become constants of the other operand's type.
// Derivative rules (ir/ops/*.cpp), autodiff and the DSL's lowering are written with these.

#include <span>
#include <string_view>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

/** A value in a graph under construction. */
class Val {
public:
  Val() = default;
  Val(Builder& b, NodeId id) : b_(&b), id_(id) {}

  NodeId id() const { return id_; }
  Builder& builder() const { return *b_; }
  // By value on purpose: building more nodes may move the builder's storage.
  Type type() const { return b_->type(id_); }
  Shape shape() const { return b_->type(id_).shape; }
  DType dtype() const { return b_->type(id_).dtype; }
  int rank() const { return b_->type(id_).shape.rank(); }

private:
  Builder* b_ = nullptr;
  NodeId id_ = 0;
};

/** The shape both operands broadcast to; throws kiln::ShapeError naming `op` and both. */
Shape broadcast_shapes(std::string_view op, const Type& a, const Type& b);

/** Applies an op through Builder::make. */
Val apply(Op op, std::span<const Val> in, Attrs attrs = {});
/** Applies an elementwise op after broadcasting all operands to a common shape. */
Val elementwise(Op op, std::span<const Val> in, Attrs attrs = {});

Val constant(Builder& b, double value, Type type);
/** A constant with the type of `like`. */
Val constant_like(const Val& like, double value);

Val operator+(const Val& a, const Val& b);
Val operator-(const Val& a, const Val& b);
Val operator*(const Val& a, const Val& b);
Val operator/(const Val& a, const Val& b);
Val operator+(const Val& a, double c);
Val operator-(const Val& a, double c);
Val operator*(const Val& a, double c);
Val operator/(const Val& a, double c);
Val operator+(double c, const Val& a);
Val operator-(double c, const Val& a);
Val operator*(double c, const Val& a);
Val operator/(double c, const Val& a);
Val operator-(const Val& a);

Val abs(const Val& x);
Val cos(const Val& x);
Val erf(const Val& x);
Val exp(const Val& x);
Val log(const Val& x);
Val relu(const Val& x);
Val sigmoid(const Val& x);
Val sin(const Val& x);
Val sqrt(const Val& x);
Val square(const Val& x);
Val stop_gradient(const Val& x);
Val tanh(const Val& x);
Val cast(const Val& x, DType to);

Val pow(const Val& x, const Val& y);
Val pow(const Val& x, double y);
Val maximum(const Val& a, const Val& b);
Val minimum(const Val& a, const Val& b);
Val maximum(const Val& a, double c);
Val less(const Val& a, const Val& b);
Val less_equal(const Val& a, const Val& b);
Val greater(const Val& a, const Val& b);
Val greater_equal(const Val& a, const Val& b);
Val equal(const Val& a, const Val& b);
Val not_equal(const Val& a, const Val& b);
Val greater(const Val& a, double c);
Val less(const Val& a, double c);
/** a where cond != 0, else b. */
Val select(const Val& cond, const Val& a, const Val& b);

/**
 * Reduction `op` (any OpKind::Reduce op) over `axes`, negative ones counting from the end (the
 * axes are dropped from the shape; no axes: x itself).
 */
Val reduce(Op op, const Val& x, std::vector<int64_t> axes);
/** Reductions over `axes` (the axes are dropped from the shape). */
Val sum(const Val& x, std::vector<int64_t> axes);
Val mean(const Val& x, std::vector<int64_t> axes);
Val max(const Val& x, std::vector<int64_t> axes);
/** Sum over every axis (a scalar). */
Val sum_all(const Val& x);
Val mean_all(const Val& x);

Val broadcast_to(const Val& x, const Shape& shape);
Val reshape(const Val& x, const Shape& shape);
Val transpose(const Val& x, std::vector<int64_t> perm);
/** The 2-D matrix transpose. */
Val transpose(const Val& x);
Val matmul(const Val& a, const Val& b, bool transpose_a = false, bool transpose_b = false);
Val concat(std::span<const Val> parts, int64_t axis);
Val slice(const Val& x, int64_t axis, int64_t begin, int64_t end);
Val one_hot(const Val& labels, int64_t depth, DType dtype);
/** x[..., idx[...]] along the last axis of x. */
Val gather(const Val& x, const Val& idx);

/**
 * 2-D convolution of x [N, C, H, W] with w [O, C/groups, KH, KW]; attrs stride, padding and
 * dilation ([h, w] lists) and groups (ir/ops/conv.cpp).
 */
Val conv2d(const Val& x, const Val& w, const Attrs& attrs);
/** Max pooling of x over windows (attrs kernel, stride, padding, dilation): max_pool2d(x, x). */
Val max_pool2d(const Val& x, const Attrs& attrs);
/** Average pooling of x over windows (attrs kernel, stride, padding), zero padding counted. */
Val avg_pool2d(const Val& x, const Attrs& attrs);
/**
 * x with each element zeroed with probability p, else scaled by 1 / (1 - p); the mask is a
 * hash of (seed, step, the element's position). `step` is an integer scalar.
 */
Val dropout(const Val& x, const Val& step, double p, int64_t seed);

/** Sums a broadcast value back to `shape` (the adjoint of broadcast_to). */
Val sum_to(const Val& x, const Shape& shape);
/** Re-inserts reduced `axes` (as 1s) and broadcasts to `shape` (the adjoint of a reduction). */
Val expand_to(const Val& x, const Shape& shape, const std::vector<int64_t>& axes);

} // namespace kiln::ir
