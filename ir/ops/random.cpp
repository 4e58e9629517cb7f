// Ops whose values are drawn at random: counter-based, so an element's draw depends only on its
// coordinates (base/counter_hash.h) and every backend draws the same numbers.

#include "base/counter_hash.h"
#include "ir/node.h"
#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {

Type dropout_rule(const InferCtx& c) {
  require_float(c, 0);
  require_int(c, 1);
  if (c.in[0].shape != c.in[1].shape)
    throw ShapeError(str("[dropout] the values ", c.in[0], " and the step ", c.in[1],
                         " must have one shape (broadcast the step)"));
  const double p = c.attrs.f("p");
  if (!(p >= 0.0 && p < 1.0))
    throw ShapeError(str("[dropout] the drop probability p must be in [0, 1), got ", p));
  (void)c.attrs.i("seed");
  return c.in[0];
}

// Element i of step s keeps its value, scaled by 1 / (1 - p), when the hash of (i, s, seed)
// clears the threshold: the same mask wherever the element is computed.
Tensor dropout_eval(const EvalCtx& c) {
  const Tensor &x = *c.in[0], &step = *c.in[1];
  const double p = c.node.attrs.f("p");
  const auto seed = static_cast<uint32_t>(c.node.attrs.i("seed"));
  const uint32_t threshold = dropout_threshold(p);
  Tensor out(c.node.type.dtype, c.out_dims);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const uint32_t key = dropout_key(seed, static_cast<uint32_t>(static_cast<int64_t>(step[i])));
    out[i] =
        dropout_keeps(key, static_cast<uint32_t>(i), threshold) ? x[i] * (1.0 / (1.0 - p)) : 0.0;
  }
  return out;
}

} // namespace

const OpDef kDropoutDef{
    .name = "dropout",
    .kind = OpKind::Elementwise,
    .arity = 2,
    .infer = dropout_rule,
    // Linear in x with the same mask: the cotangent is dropped where x was.
    .vjp =
        [](VjpCtx& c) {
          const Val a[] = {grad(c), in(c, 1)};
          return std::vector<NodeId>{apply(Op::Dropout, a, attrs(c)).id(), kNoGrad};
        },
    .jvp = [](JvpCtx& c) { return multilinear_jvp(c, {0}); },
    .eval = dropout_eval,
    .render = "kiln_dropout({0}, {1}, {I}, {=seed}, {=p})",
    .positional = true,
    .cost = 4,
};

} // namespace kiln::ir
