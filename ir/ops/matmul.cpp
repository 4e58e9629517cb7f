// The matrix product C = op(A) op(B), op = identity or transpose per operand.

#include "ir/node.h"
#include "ir/ops/rules.h"

namespace kiln::ir {
using namespace rules;

namespace {

Type matmul_rule(const InferCtx& c) {
  require_float(c, 0);
  require_float(c, 1);
  const Type &a = c.in[0], &b = c.in[1];
  if (a.shape.rank() != 2 || b.shape.rank() != 2)
    throw ShapeError(str("[matmul] operands must be matrices, got ", a, " and ", b));
  if (a.dtype != b.dtype)
    throw ShapeError(str("[matmul] operands must have one dtype, got ", a, " and ", b));
  const bool ta = c.attrs.i("ta") != 0, tb = c.attrs.i("tb") != 0;
  const int64_t m = a.shape[ta ? 1 : 0], ka = a.shape[ta ? 0 : 1];
  const int64_t kb = b.shape[tb ? 1 : 0], n = b.shape[tb ? 0 : 1];
  if (ka != kb)
    throw ShapeError(str("[matmul] inner dimensions differ: a is ", a, (ta ? " (transposed)" : ""),
                         ", b is ", b, (tb ? " (transposed)" : ""), ": ", dim_str(ka), " vs ",
                         dim_str(kb)));
  return Type{a.dtype, Shape{m, n}};
}

Tensor matmul_eval(const EvalCtx& c) {
  const Tensor &a = *c.in[0], &b = *c.in[1];
  const bool ta = c.node.attrs.i("ta") != 0, tb = c.node.attrs.i("tb") != 0;
  const int64_t m = c.out_dims[0], n = c.out_dims[1], k = ta ? a.dims[0] : a.dims[1];
  Tensor out(c.node.type.dtype, c.out_dims);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += a[ta ? p * a.dims[1] + i : i * a.dims[1] + p] *
               b[tb ? j * b.dims[1] + p : p * b.dims[1] + j];
      out[i * n + j] = acc;
    }
  return out;
}

} // namespace

const OpDef kMatMulDef{
    .name = "matmul",
    .kind = OpKind::MatMul,
    .arity = 2,
    .infer = matmul_rule,
    // C = A B:   dA = G B^T, dB = A^T G;   C = A B^T: dA = G B,     dB = G^T A;
    // C = A^T B: dA = B G^T, dB = A G;     C = A^T B^T: dA = B^T G^T, dB = G^T A^T.
    .vjp =
        [](VjpCtx& c) {
          const Val a = in(c, 0), b = in(c, 1), g = grad(c);
          const Attrs at = attrs(c);
          const bool ta = at.i("ta") != 0, tb = at.i("tb") != 0;
          if (!ta && !tb)
            return grads({matmul(g, b, false, true), matmul(a, g, true, false)});
          if (!ta && tb)
            return grads({matmul(g, b), matmul(g, a, true, false)});
          if (ta && !tb)
            return grads({matmul(b, g, false, true), matmul(a, g)});
          return grads({matmul(b, g, true, true), matmul(g, a, true, true)});
        },
    .jvp =
        [](JvpCtx& c) {
          const Attrs at = attrs(c);
          const bool ta = at.i("ta") != 0, tb = at.i("tb") != 0;
          return sum_of({with(c, 0, [&](Val t) { return matmul(t, in(c, 1), ta, tb); }),
                         with(c, 1, [&](Val t) { return matmul(in(c, 0), t, ta, tb); })});
        },
    .eval = matmul_eval,
};

} // namespace kiln::ir
