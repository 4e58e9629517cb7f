// Elementwise ops with one operand. Each derivative rule carries its math.

#include <cmath>

#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {
constexpr double kTwoOverSqrtPi = 1.1283791670955126;

Type cast_rule(const InferCtx& c) {
  return Type{dtype_attr(c.op, c.attrs), c.in[0].shape};
}

double cast_value(const double* a, const Attrs& attrs) {
  // Float-to-integer casts truncate toward zero, as C does.
  return is_float(dtype_attr("cast", attrs)) ? a[0] : std::trunc(a[0]);
}
} // namespace

const OpDef kAbsDef{
    .name = "abs",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx |x| = sign(x)
    .vjp =
        [](VjpCtx& c) { return grads({grad(c) * (greater(in(c, 0), 0.0) - less(in(c, 0), 0.0))}); },
    .jvp =
        [](JvpCtx& c) { return (dot(c, 0) * (greater(in(c, 0), 0.0) - less(in(c, 0), 0.0))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::fabs(a[0]); },
    .render = "kiln_abs({0})",
};

const OpDef kCastDef{
    .name = "cast",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = cast_rule,
    // Between float types the cotangent casts back; nothing flows through integers.
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0);
          if (!is_float(x.dtype()) || !is_float(out(c).dtype()))
            return std::vector<NodeId>{kNoGrad};
          return grads({cast(grad(c), x.dtype())});
        },
    .jvp =
        [](JvpCtx& c) {
          if (!is_float(in(c, 0).dtype()) || !is_float(out(c).dtype()))
            return kNoGrad;
          return cast(dot(c, 0), out(c).dtype()).id();
        },
    .scalar = cast_value,
    .render = "(({T}){0})",
};

const OpDef kCosDef{
    .name = "cos",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx cos x = -sin x
    .vjp = [](VjpCtx& c) { return grads({-(grad(c) * sin(in(c, 0)))}); },
    .jvp = [](JvpCtx& c) { return (-(dot(c, 0) * sin(in(c, 0)))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::cos(a[0]); },
    .render = "kiln_cos({0})",
    .cost = 10,
    .math = "kiln_cos",
};

const OpDef kErfDef{
    .name = "erf",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx erf x = 2/sqrt(pi) exp(-x^2)
    .vjp = [](VjpCtx& c) { return grads({grad(c) * (kTwoOverSqrtPi * exp(-square(in(c, 0))))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * (kTwoOverSqrtPi * exp(-square(in(c, 0))))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::erf(a[0]); },
    .render = "kiln_erf({0})",
    .cost = 10,
    .math = "kiln_erf",
};

const OpDef kExpDef{
    .name = "exp",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx exp x = exp x
    .vjp = [](VjpCtx& c) { return grads({grad(c) * out(c)}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * out(c)).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::exp(a[0]); },
    .render = "kiln_exp({0})",
    .cost = 10,
    .math = "kiln_exp",
};

const OpDef kLogDef{
    .name = "log",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx log x = 1/x
    .vjp = [](VjpCtx& c) { return grads({grad(c) / in(c, 0)}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) / in(c, 0)).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::log(a[0]); },
    .render = "kiln_log({0})",
    .cost = 10,
    .math = "kiln_log",
};

const OpDef kNegDef{
    .name = "neg",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_type,
    // d/dx -x = -1
    .vjp = [](VjpCtx& c) { return grads({-grad(c)}); },
    .jvp = [](JvpCtx& c) { return (-dot(c, 0)).id(); },
    .scalar = [](const double* a, const Attrs&) { return -a[0]; },
    .render = "(-{0})",
};

const OpDef kReluDef{
    .name = "relu",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx max(x, 0) = [x > 0] (0 at the kink, as PyTorch) = [relu(x) > 0]: read from the
    // output, which the next layer keeps in memory anyway, so x need not be.
    .vjp = [](VjpCtx& c) { return grads({grad(c) * greater(out(c), 0.0)}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * greater(in(c, 0), 0.0)).id(); },
    .scalar = [](const double* a, const Attrs&) { return a[0] < 0 ? 0.0 : a[0]; }, // NaN stays NaN
    .render = "kiln_relu({0})",
};

const OpDef kSigmoidDef{
    .name = "sigmoid",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx s(x) = s(x) (1 - s(x))
    .vjp = [](VjpCtx& c) { return grads({grad(c) * (out(c) * (1.0 - out(c)))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * (out(c) * (1.0 - out(c)))).id(); },
    .scalar = [](const double* a, const Attrs&) { return 1.0 / (1.0 + std::exp(-a[0])); },
    .render = "kiln_sigmoid({0})",
    .cost = 10,
    .math = "kiln_sigmoid",
};

const OpDef kSinDef{
    .name = "sin",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx sin x = cos x
    .vjp = [](VjpCtx& c) { return grads({grad(c) * cos(in(c, 0))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * cos(in(c, 0))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::sin(a[0]); },
    .render = "kiln_sin({0})",
    .cost = 10,
    .math = "kiln_sin",
};

const OpDef kSoftsignDef{
    .name = "softsign",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // softsign x = x / (1 + |x|);  d/dx softsign x = 1 / (1 + |x|)^2
    .vjp = [](VjpCtx& c) { return grads({grad(c) / square(1.0 + abs(in(c, 0)))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) / square(1.0 + abs(in(c, 0)))).id(); },
    .scalar = [](const double* a, const Attrs&) { return a[0] / (1.0 + std::fabs(a[0])); },
    .render = "({0} / (({T})1 + kiln_abs({0})))",
};

const OpDef kSqrtDef{
    .name = "sqrt",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx sqrt x = 1 / (2 sqrt x)
    .vjp = [](VjpCtx& c) { return grads({grad(c) / (2.0 * out(c))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) / (2.0 * out(c))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::sqrt(a[0]); },
    .render = "kiln_sqrt({0})",
    // An instruction, not a polynomial: it costs the compiler nothing extra.
    .cost = 10,
};

const OpDef kSquareDef{
    .name = "square",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_type,
    // d/dx x^2 = 2x
    .vjp = [](VjpCtx& c) { return grads({grad(c) * (2.0 * in(c, 0))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * (2.0 * in(c, 0))).id(); },
    .scalar = [](const double* a, const Attrs&) { return a[0] * a[0]; },
    .render = "({0} * {0})",
};

const OpDef kStopGradientDef{
    .name = "stop_gradient",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_type,
    // The identity whose derivative is treated as 0 (e.g. the shift inside logsumexp).
    .vjp = [](VjpCtx&) { return std::vector<NodeId>{kNoGrad}; },
    .jvp = [](JvpCtx&) { return kNoGrad; },
    .scalar = [](const double* a, const Attrs&) { return a[0]; },
    .render = "{0}",
};

const OpDef kTanhDef{
    .name = "tanh",
    .kind = OpKind::Elementwise,
    .arity = 1,
    .infer = same_float_type,
    // d/dx tanh x = 1 - tanh^2 x
    .vjp = [](VjpCtx& c) { return grads({grad(c) * (1.0 - square(out(c)))}); },
    .jvp = [](JvpCtx& c) { return (dot(c, 0) * (1.0 - square(out(c)))).id(); },
    .scalar = [](const double* a, const Attrs&) { return std::tanh(a[0]); },
    .render = "kiln_tanh({0})",
    .cost = 10,
    .math = "kiln_tanh",
};

} // namespace kiln::ir
