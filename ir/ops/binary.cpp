// Elementwise ops with two or three operands of one shape (ir/val.h broadcasts before them).

#include <cmath>

#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {
Type select_rule(const InferCtx& c) {
  if (c.in[0].shape != c.in[1].shape)
    throw ShapeError(str("[select] the condition ", c.in[0], " and the values ", c.in[1],
                         " must have one shape"));
  const InferCtx values{c.op, c.in.subspan(1), c.attrs};
  return same_type(values);
}

// Comparisons give 0 or 1 in the operands' dtype and are flat almost everywhere.
#define KILN_COMPARISON(Name, text, op)                                                            \
  const OpDef k##Name##Def{                                                                        \
      .name = text,                                                                                \
      .kind = OpKind::Elementwise,                                                                 \
      .arity = 2,                                                                                  \
      .infer = same_type,                                                                          \
      .differentiable = false,                                                                     \
      .scalar = [](const double* a, const Attrs&) { return a[0] op a[1] ? 1.0 : 0.0; },            \
      .render = "(({0} " #op " {1}) ? ({T})1 : ({T})0)",                                           \
  };
} // namespace

const OpDef kAddDef{
    .name = "add",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // d(a + b) = da + db
    .vjp =
        [](VjpCtx& c) {
          return grads({grad(c), grad(c)});
        },
    .jvp =
        [](JvpCtx& c) {
          return sum_of({tangent(c, 0), tangent(c, 1)});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] + a[1]; },
    .render = "({0} + {1})",
    .commutative = true,
};

const OpDef kDivDef{
    .name = "div",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // d(a / b) = da / b - a db / b^2 = da / b - (a / b) db / b
    .vjp =
        [](VjpCtx& c) {
          return grads({grad(c) / in(c, 1), -(grad(c) * out(c) / in(c, 1))});
        },
    .jvp =
        [](JvpCtx& c) {
          return sum_of({with(c, 0, [&](Val t) { return t / in(c, 1); }),
                         with(c, 1, [&](Val t) { return -(t * out(c) / in(c, 1)); })});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] / a[1]; },
    .render = "({0} / {1})",
};

const OpDef kMaximumDef{
    .name = "maximum",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // The larger operand gets the cotangent; a tie splits it evenly (as PyTorch).
    .vjp =
        [](VjpCtx& c) {
          const Val a = in(c, 0), b = in(c, 1);
          const Val wa = greater(a, b) + 0.5 * equal(a, b);
          return grads({grad(c) * wa, grad(c) * (1.0 - wa)});
        },
    .jvp =
        [](JvpCtx& c) {
          const Val wa = greater(in(c, 0), in(c, 1)) + 0.5 * equal(in(c, 0), in(c, 1));
          return sum_of({with(c, 0, [&](Val t) { return t * wa; }),
                         with(c, 1, [&](Val t) { return t * (1.0 - wa); })});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] > a[1] ? a[0] : a[1]; },
    .render = "kiln_max({0}, {1})",
    .commutative = true,
};

const OpDef kMinimumDef{
    .name = "minimum",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // The smaller operand gets the cotangent; a tie splits it evenly.
    .vjp =
        [](VjpCtx& c) {
          const Val a = in(c, 0), b = in(c, 1);
          const Val wa = less(a, b) + 0.5 * equal(a, b);
          return grads({grad(c) * wa, grad(c) * (1.0 - wa)});
        },
    .jvp =
        [](JvpCtx& c) {
          const Val wa = less(in(c, 0), in(c, 1)) + 0.5 * equal(in(c, 0), in(c, 1));
          return sum_of({with(c, 0, [&](Val t) { return t * wa; }),
                         with(c, 1, [&](Val t) { return t * (1.0 - wa); })});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] < a[1] ? a[0] : a[1]; },
    .render = "kiln_min({0}, {1})",
    .commutative = true,
};

const OpDef kMulDef{
    .name = "mul",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // d(a b) = b da + a db
    .vjp =
        [](VjpCtx& c) {
          return grads({grad(c) * in(c, 1), grad(c) * in(c, 0)});
        },
    .jvp =
        [](JvpCtx& c) {
          return sum_of({with(c, 0, [&](Val t) { return t * in(c, 1); }),
                         with(c, 1, [&](Val t) { return in(c, 0) * t; })});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] * a[1]; },
    .render = "({0} * {1})",
    .commutative = true,
};

const OpDef kPowDef{
    .name = "pow",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_float_type,
    // d(a^b) = b a^(b-1) da + log(a) a^b db
    .vjp =
        [](VjpCtx& c) {
          const Val a = in(c, 0), b = in(c, 1);
          return grads({grad(c) * (b * pow(a, b - 1.0)), grad(c) * (log(a) * out(c))});
        },
    .jvp =
        [](JvpCtx& c) {
          const Val a = in(c, 0), b = in(c, 1);
          return sum_of({with(c, 0, [&](Val t) { return t * (b * pow(a, b - 1.0)); }),
                         with(c, 1, [&](Val t) { return t * (log(a) * out(c)); })});
        },
    .scalar = [](const double* a, const Attrs&) { return std::pow(a[0], a[1]); },
    .render = "kiln_pow({0}, {1})",
    .cost = 10,
    .math = "kiln_pow",
};

const OpDef kSelectDef{
    .name = "select",
    .kind = OpKind::Elementwise,
    .arity = 3,
    .infer = select_rule,
    // The cotangent goes to the operand that was picked; none to the condition.
    .vjp =
        [](VjpCtx& c) {
          const Val cond = in(c, 0), zero = constant_like(grad(c), 0.0);
          return std::vector<NodeId>{kNoGrad, select(cond, grad(c), zero).id(),
                                     select(cond, zero, grad(c)).id()};
        },
    .jvp =
        [](JvpCtx& c) {
          if (!tangent(c, 1) && !tangent(c, 2))
            return kNoGrad; // only the condition moved: flat
          return select(in(c, 0), dot_or_zero(c, 1), dot_or_zero(c, 2)).id();
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] != 0.0 ? a[1] : a[2]; },
    .render = "(({0} != 0) ? {1} : {2})",
};

const OpDef kSubDef{
    .name = "sub",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = same_type,
    // d(a - b) = da - db
    .vjp =
        [](VjpCtx& c) {
          return grads({grad(c), -grad(c)});
        },
    .jvp =
        [](JvpCtx& c) {
          return sum_of({tangent(c, 0), with(c, 1, [&](Val t) { return -t; })});
        },
    .scalar = [](const double* a, const Attrs&) { return a[0] - a[1]; },
    .render = "({0} - {1})",
};

KILN_COMPARISON(Equal, "equal", ==)
KILN_COMPARISON(Greater, "greater", >)
KILN_COMPARISON(GreaterEqual, "greater_equal", >=)
KILN_COMPARISON(Less, "less", <)
KILN_COMPARISON(LessEqual, "less_equal", <=)
KILN_COMPARISON(NotEqual, "not_equal", !=)

} // namespace kiln::ir
