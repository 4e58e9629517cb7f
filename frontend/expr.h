#pragma once
// The DSL's expression templates. An expression only describes a computation: building one
// computes nothing. lower() turns it into ir::Graph nodes through a LowerCtx.
//
// Every expression type E derives from ExprBase<E> and provides
//   using StaticShape = Dims<...> or AnyShape;   // what is known at compile time
//   ir::Val lower(LowerCtx&) const;              // its IR
// Sub-expressions are held by value (leaves share their identity through a shared_ptr), so
// `auto h = tanh(K * y + b);` never dangles.

#include <array>
#include <concepts>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.h"
#include "frontend/shape.h"
#include "ir/val.h"

namespace kiln {

/** How a parameter's values start. */
struct Init {
  enum class Kind { Zeros, Constant, Uniform, Normal };
  Kind kind = Kind::Zeros;
  double a = 0.0, b = 0.0;

  static Init zeros() { return {}; }
  static Init constant(double v) { return {Kind::Constant, v, 0.0}; }
  static Init uniform(double lo, double hi) { return {Kind::Uniform, lo, hi}; }
  static Init normal(double mean, double stddev) { return {Kind::Normal, mean, stddev}; }
  /** U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear weights and biases. */
  static Init fan_in_uniform(int64_t fan_in);
  /** The default of a bare Param: fan_in_uniform(prod(dims[1:])) for matrices, zeros else. */
  static Init default_for(const std::vector<int64_t>& dims);
};

/** A parameter the lowered graph needs: its name, shape and initializer. */
struct ParamSpec {
  std::string name;
  ir::Shape shape;
  Init init;
};

namespace detail {
enum class LeafKind { Input, Labels, Param };
/** The identity of one Input, Labels or Param, shared by every copy of it. */
struct LeafState {
  LeafKind kind;
  std::string name;
  std::vector<int64_t> dims; // IR dims, kBatch included
  Init init;
  int64_t num_classes = 0;
};
std::shared_ptr<LeafState> make_leaf(LeafKind kind, std::string name, std::vector<int64_t> dims);
} // namespace detail

/** State of one lowering: the IR builder, the float dtype of the network, the leaves seen. */
class LowerCtx {
public:
  explicit LowerCtx(ir::DType dtype = ir::DType::F32, bool training = false)
      : dtype_(dtype), training_(training) {}

  ir::Builder& builder() { return b_; }
  ir::DType dtype() const { return dtype_; }
  /** Lowering a training step: dropout draws masks (it is the identity otherwise). */
  bool training() const { return training_; }
  /** The IR leaf of an Input, Labels or Param; two different leaves may not share a name. */
  ir::Val leaf(const std::shared_ptr<detail::LeafState>& s);
  /** A scalar constant of the network's dtype. */
  ir::Val scalar(double v) { return ir::constant(b_, v, ir::Type{dtype_, ir::Shape{}}); }
  /** Parameters met so far, in order of first use. */
  const std::vector<ParamSpec>& params() const { return params_; }
  /** Memo of type-erased sub-expressions already lowered (shared DAG nodes lower once). */
  std::unordered_map<const void*, ir::NodeId>& memo() { return memo_; }

private:
  ir::Builder b_;
  ir::DType dtype_;
  bool training_;
  std::map<std::string, std::shared_ptr<detail::LeafState>> leaves_;
  std::vector<ParamSpec> params_;
  std::unordered_map<const void*, ir::NodeId> memo_;
};

/** CRTP base of every expression. */
template <class Derived>
struct ExprBase {
  const Derived& derived() const { return static_cast<const Derived&>(*this); }
};

/** An expression type: it has a StaticShape and lowers to IR. */
template <class T>
concept Expression = requires(const T& e, LowerCtx& c) {
  typename T::StaticShape;
  { e.lower(c) } -> std::same_as<ir::Val>;
};

/** Something usable as an operand: an expression or a plain number. */
template <class T>
concept Operand = Expression<T> || std::is_arithmetic_v<T>;

/** A plain number inside an expression: a scalar constant of the network's dtype. */
struct Scalar : ExprBase<Scalar> {
  using StaticShape = Dims<>;
  double value;
  explicit Scalar(double v) : value(v) {}
  ir::Val lower(LowerCtx& c) const { return c.scalar(value); }
};

/** `x` as an expression: expressions stay, numbers become Scalar. */
template <Operand T>
auto as_expr(const T& x) {
  if constexpr (Expression<T>)
    return x;
  else
    return Scalar(static_cast<double>(x));
}

/**
 * The one generic expression node: Tag applied to Args. Tag supplies the static shape rule
 * (`template <class...> using Shape`, where its static_asserts live) and `lower(ctx, ir::Val...)`.
 */
template <class Tag, class... Args>
class Apply : public ExprBase<Apply<Tag, Args...>> {
public:
  using StaticShape = typename Tag::template Shape<typename Args::StaticShape...>;

  explicit Apply(Tag tag, Args... args) : tag_(std::move(tag)), args_(std::move(args)...) {}

  ir::Val lower(LowerCtx& c) const { return lower_args(c, std::index_sequence_for<Args...>{}); }

private:
  // Operands lower left to right: a braced list is evaluated in order, function arguments are
  // not (GCC goes right to left), and the node order is what listings and kernel caches see.
  template <size_t... I>
  ir::Val lower_args(LowerCtx& c, std::index_sequence<I...>) const {
    const std::array<ir::Val, sizeof...(I)> in{std::get<I>(args_).lower(c)...};
    return tag_.lower(c, in[I]...);
  }

  Tag tag_;
  std::tuple<Args...> args_;
};

template <class Tag, class... Args>
auto make_apply(Tag tag, const Args&... args) {
  return Apply<Tag, Args...>(std::move(tag), args...);
}

/**
 * Any expression, type-erased: what layers take and return, and what to store in containers.
 * Its shape is checked when lowered. Copies share the expression; it lowers once per LowerCtx.
 */
class Expr : public ExprBase<Expr> {
public:
  using StaticShape = AnyShape;

  Expr() = default;
  template <Expression E>
  requires(!std::same_as<E, Expr>) Expr(E e) : node_(std::make_shared<Holder<E>>(std::move(e))) {}

  ir::Val lower(LowerCtx& c) const;
  bool defined() const { return node_ != nullptr; }

private:
  struct Node {
    virtual ~Node() = default;
    virtual ir::Val lower(LowerCtx& c) const = 0;
  };
  template <class E>
  struct Holder final : Node {
    explicit Holder(E x) : e(std::move(x)) {}
    ir::Val lower(LowerCtx& c) const override { return e.lower(c); }
    E e;
  };
  std::shared_ptr<const Node> node_;
};

/** Per-sample features: an input of shape [N, features...]. `Input<2>` has static dims. */
template <int64_t... D>
class Input : public ExprBase<Input<D...>> {
public:
  using StaticShape = std::conditional_t<sizeof...(D) == 0, AnyShape, Dims<kN, D...>>;

  explicit Input(std::string name = "y") requires(sizeof...(D) > 0)
      : state_(detail::make_leaf(detail::LeafKind::Input, std::move(name), {ir::kBatch, D...})) {}
  Input(std::initializer_list<int64_t> features, std::string name = "y") requires(sizeof...(D) == 0)
      : state_(detail::make_leaf(detail::LeafKind::Input, std::move(name), batch_dims(features))) {}

  ir::Val lower(LowerCtx& c) const { return c.leaf(state_); }
  const std::string& name() const { return state_->name; }
  /** The IR dims ([N, features...]). */
  const std::vector<int64_t>& dims() const { return state_->dims; }

private:
  static std::vector<int64_t> batch_dims(std::initializer_list<int64_t> f) {
    std::vector<int64_t> d{ir::kBatch};
    d.insert(d.end(), f.begin(), f.end());
    return d;
  }
  std::shared_ptr<detail::LeafState> state_;
};
template <class... R>
Input(std::initializer_list<int64_t>, R...) -> Input<>;

/** Float targets (regression values, class probabilities): an input named "c" by default. */
template <int64_t... D>
class Target : public Input<D...> {
public:
  explicit Target(std::string name = "c") requires(sizeof...(D) > 0)
      : Input<D...>(std::move(name)) {}
  Target(std::initializer_list<int64_t> features,
         std::string name = "c") requires(sizeof...(D) == 0)
      : Input<D...>(features, std::move(name)) {}
};
template <class... R>
Target(std::initializer_list<int64_t>, R...) -> Target<>;

/**
 * A set of points with a fixed number of rows: an input of shape [rows, dims...] fed whole at
 * every step (a PDE's interior, boundary or initial points, or values at them). Several point
 * sets of different sizes can feed one step, unlike Inputs, which share the batch size N.
 */
class Points : public ExprBase<Points> {
public:
  using StaticShape = AnyShape;

  Points(int64_t rows, std::initializer_list<int64_t> dims, std::string name)
      : state_(detail::make_leaf(detail::LeafKind::Input, std::move(name), with_rows(rows, dims))) {
  }

  ir::Val lower(LowerCtx& c) const { return c.leaf(state_); }
  const std::string& name() const { return state_->name; }
  /** The IR dims ([rows, dims...]). */
  const std::vector<int64_t>& dims() const { return state_->dims; }
  int64_t rows() const { return state_->dims[0]; }

private:
  static std::vector<int64_t> with_rows(int64_t rows, std::initializer_list<int64_t> dims) {
    std::vector<int64_t> d{rows};
    d.insert(d.end(), dims.begin(), dims.end());
    return d;
  }
  std::shared_ptr<detail::LeafState> state_;
};

/** Integer class labels in [0, classes): an i32 input of shape [N]. `Labels<3>` is static. */
template <int64_t C = 0>
class Labels : public ExprBase<Labels<C>> {
public:
  using StaticShape = Dims<kN>;
  static constexpr int64_t kStaticClasses = C;

  explicit Labels(std::string name = "c") requires(C > 0) : state_(make(C, std::move(name))) {}
  explicit Labels(int64_t classes, std::string name = "c") requires(C == 0)
      : state_(make(classes, std::move(name))) {}

  ir::Val lower(LowerCtx& c) const { return c.leaf(state_); }
  int64_t num_classes() const { return state_->num_classes; }
  const std::string& name() const { return state_->name; }

private:
  static std::shared_ptr<detail::LeafState> make(int64_t classes, std::string name) {
    if (classes < 1)
      throw ShapeError(str("[Labels] '", name, "' needs at least one class, got ", classes));
    auto s = detail::make_leaf(detail::LeafKind::Labels, std::move(name), {ir::kBatch});
    s->num_classes = classes;
    return s;
  }
  std::shared_ptr<detail::LeafState> state_;
};
Labels(int64_t)->Labels<0>;
Labels(int64_t, std::string)->Labels<0>;
Labels(int, const char*)->Labels<0>;

/** A trainable parameter. `Param K{14, 2}` has runtime dims, `Param<14, 2> K` static ones. */
template <int64_t... D>
class Param : public ExprBase<Param<D...>> {
public:
  using StaticShape = std::conditional_t<sizeof...(D) == 0, AnyShape, Dims<D...>>;

  explicit Param(std::string name = "") requires(sizeof...(D) > 0)
      : state_(make({D...}, std::move(name))) {}
  Param(std::initializer_list<int64_t> dims, std::string name = "") requires(sizeof...(D) == 0)
      : state_(make(dims, std::move(name))) {}

  ir::Val lower(LowerCtx& c) const { return c.leaf(state_); }
  const std::string& name() const { return state_->name; }
  const std::vector<int64_t>& dims() const { return state_->dims; }
  const Init& init() const { return state_->init; }
  /** Renames the parameter (every copy sees the new name). */
  Param& named(std::string name) {
    state_->name = std::move(name);
    return *this;
  }
  /** Sets how the parameter starts (every copy sees it). */
  Param& init(Init init) {
    state_->init = init;
    return *this;
  }
  /** A learnable scalar (shape []), e.g. a PDE's coefficient, starting at `value`. */
  static Param scalar(std::string name, double value) requires(sizeof...(D) == 0) {
    Param p(std::initializer_list<int64_t>{}, std::move(name));
    p.init(Init::constant(value));
    return p;
  }

private:
  static std::shared_ptr<detail::LeafState> make(std::vector<int64_t> dims, std::string name);
  std::shared_ptr<detail::LeafState> state_;
};
template <class... R>
Param(std::initializer_list<int64_t>, R...) -> Param<>;

namespace detail {
/** A process-unique default name, "param<k>", for parameters created without one. */
std::string next_param_name();
} // namespace detail

template <int64_t... D>
std::shared_ptr<detail::LeafState> Param<D...>::make(std::vector<int64_t> dims, std::string name) {
  if (name.empty())
    name = detail::next_param_name();
  auto s = detail::make_leaf(detail::LeafKind::Param, std::move(name), dims);
  s->init = Init::default_for(dims);
  return s;
}

} // namespace kiln
