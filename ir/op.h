#pragma once
// The op registry. Every primitive op is one OpDef, defined in one place (ir/ops/<family>.cpp):
// its shape and dtype rule, its derivative (a vector-Jacobian product written as IR), its
// reference semantics and its rendering rule. Passes, the interpreter, autodiff and codegen ask
// the OpDef; nothing else keeps a list of ops.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "ir/attrs.h"
#include "ir/op_list.h"
#include "ir/shape.h"
#include "ir/tensor.h"
#include "ir/window.h"

namespace kiln::ir {

enum class Op : uint16_t {
#define KILN_OP_ENUM(e, s) e,
  KILN_FOR_EACH_OP(KILN_OP_ENUM)
#undef KILN_OP_ENUM
};

inline constexpr int kNumOps = 0
#define KILN_OP_COUNT(e, s) +1
    KILN_FOR_EACH_OP(KILN_OP_COUNT)
#undef KILN_OP_COUNT
    ;

/** What kind of loop an op needs; passes and codegen dispatch on this, never on Op lists. */
enum class OpKind : uint8_t { Leaf, Elementwise, Reduce, Movement, MatMul, Index, Window };

using NodeId = uint32_t;
/** Marks "no gradient flows to this input" in a VJP result. */
inline constexpr NodeId kNoGrad = UINT32_MAX;

class Builder;
struct Node;

/** Inputs to a shape/dtype rule. */
struct InferCtx {
  std::string_view op;
  std::span<const Type> in;
  const Attrs& attrs;
};

/** Inputs to a reference evaluation of a non-elementwise op. */
struct EvalCtx {
  std::span<const Tensor* const> in;
  const Node& node;
  /** Concrete output dims (the batch size is known here). */
  const std::vector<int64_t>& out_dims;
};

/** Inputs to a derivative rule: the node, its output and the incoming cotangent, as IR. */
struct VjpCtx {
  Builder& b;
  NodeId self;
  NodeId cotangent;
};

/**
 * Inputs to a forward-mode rule: the node and the tangent of each operand as IR (kNoGrad where
 * an operand's tangent is zero; at least one is not).
 */
struct JvpCtx {
  Builder& b;
  NodeId self;
  std::span<const NodeId> tangents;
};

/**
 * How a reduction folds its elements. The interpreter, constant folding and every backend read
 * it, so a new reduction is its OpDef and nothing else.
 */
struct ReduceRule {
  /** The fold's identity, where an accumulator starts (0 for a sum, -inf for a max). */
  double identity = 0.0;
  /** Folds the value v into the accumulator a. */
  double (*combine)(double a, double v) = nullptr;
  /** The same fold as a C statement: {0} is the accumulator (an lvalue), {1} the value. */
  std::string_view combine_c;
  /** The result from the accumulator a over n elements; nullptr: a itself. */
  double (*finalize)(double a, double n) = nullptr;
  /** The same as a C expression: {0} the accumulator, {1} n (of type {T}); "": {0}. */
  std::string_view finalize_c;
  /** The result over n copies of the value c, with no loop (a sum gives c n, a max c). */
  double (*of_splat)(double c, double n) = nullptr;
  /** The same as a C expression: {0} the value, {1} n (of type {T}). */
  std::string_view of_splat_c;
};

using InferFn = Type (*)(const InferCtx&);
using ScalarFn = double (*)(const double* args, const Attrs& attrs);
using EvalFn = Tensor (*)(const EvalCtx&);
/** Returns one gradient per input (kNoGrad where none flows). */
using VjpFn = std::vector<NodeId> (*)(VjpCtx&);
/** Returns the tangent of the output (kNoGrad when it is zero). */
using JvpFn = NodeId (*)(JvpCtx&);

/** Everything kiln knows about one op. */
struct OpDef {
  std::string_view name;
  OpKind kind;
  /** Number of inputs; -1 for variadic (concat). */
  int arity;
  /** Shape and dtype rule; throws kiln::ShapeError naming the op and the operand types. */
  InferFn infer = nullptr;
  /** Derivative rule; nullptr exactly when `differentiable` is false. */
  VjpFn vjp = nullptr;
  /**
   * Forward-mode rule: the directional derivative J v given the operands' tangents v, as IR
   * (ir/forward.h). Present exactly when `differentiable` is; it composes, so applying it twice
   * gives second derivatives (a physics-informed loss's u_xx) without a backward pass.
   */
  JvpFn jvp = nullptr;
  bool differentiable = true;
  /** Reference semantics of an elementwise op, one element at a time, in double. */
  ScalarFn scalar = nullptr;
  /** Reference semantics of every other non-leaf op, and of a positional elementwise one. */
  EvalFn eval = nullptr;
  /**
   * C expression for an elementwise op: {0},{1},{2} are operands, {T} the output C type, {I} the
   * element's row-major offset in the output and {=name} the attribute `name` as a literal.
   * Window ops render through `window`; other kinds through a codegen template chosen by `kind`.
   */
  std::string_view render;
  /**
   * An elementwise op whose value depends on the element's position as well as on its operands
   * (dropout's mask): it has `eval` instead of `scalar`, and no pass folds it or moves it across
   * a broadcast.
   */
  bool positional = false;
  /** Operands may be swapped (CSE canonicalizes their order). */
  bool commutative = false;
  /** How a Reduce op folds; nullptr for every other kind. */
  const ReduceRule* reduce = nullptr;
  /** How a Window op computes an element; nullptr for every other kind. */
  const WindowRule* window = nullptr;
  /**
   * What one element costs at run time, in simple arithmetic ops (a call into the math
   * prelude that evaluates a polynomial, or a square root, costs 10). Fusion recomputes cheap
   * expressions where they are used and computes expensive ones once (codegen/schedule.cpp).
   */
  int cost = 1;
  /**
   * The math prelude's polynomial functions the rendering calls, separated by spaces
   * ("kiln_tanh"). Each inlines a polynomial, which costs the C++ compiler several lines of
   * work; codegen/split_units.cpp balances translation units by it.
   */
  std::string_view math;
  /**
   * An op that indexes with an integer operand (a label): which operand, and the bound its
   * values must stay below, from the op's operand types and attributes. Runtimes check fed
   * labels against it before any kernel runs.
   */
  int index_operand = -1;
  int64_t (*index_bound)(const InferCtx&) = nullptr;
};

/** The definition of `op`. */
const OpDef& op_def(Op op);
/** Text name ("matmul"). */
std::string_view op_name(Op op);
/** Op with this text name, if any. */
std::optional<Op> op_from_name(std::string_view name);
/** All ops, in declaration order. */
std::span<const Op> all_ops();
/** Every name in the `math` field of every op, once each. */
std::span<const std::string_view> math_functions();

} // namespace kiln::ir
