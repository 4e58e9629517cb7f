// 2-D convolution over [N, C, H, W] values, as torch.nn.functional.conv2d (a cross-correlation):
//   y[n, o, p, q] = sum over ci, ky, kx of
//                   x[n, g(o) Cg + ci, p sh - ph + ky dh, q sw - pw + kx dw] w[o, ci, ky, kx]
// with zero padding, Cg = C / groups input channels per group and g(o) = o / (O / groups). Its
// two derivatives are ops too, so the three are closed under differentiation:
//   conv2d_input_grad(dy, w)  = dL/dx, the transposed convolution;
//   conv2d_weight_grad(x, dy) = dL/dw, the correlation of x with dy summed over the batch.

#include "ir/node.h"
#include "ir/ops/rules.h"
#include "ir/ops/window_source.h"

namespace kiln::ir {
using namespace rules;

namespace {

/** Stride, padding, dilation and groups of `a`, for a new conv op (drops input and kernel). */
Attrs shared_attrs(const Attrs& a) {
  Attrs out;
  for (const char* key : {"stride", "padding", "dilation", "groups"})
    for (const auto& [k, v] : a.items())
      if (k == key)
        out.set(k, v);
  return out;
}

/** One convolution's sizes, checked. */
struct ConvDims {
  int64_t n, c, h, w, o, cg, og, groups, oh, ow;
  Window2d win;
};

void require_nchw(const InferCtx& c, size_t i, const char* what) {
  const Shape& s = c.in[i].shape;
  bool ok = s.rank() == 4;
  for (int d = 1; ok && d < 4; ++d)
    ok = s[d] != kBatch;
  if (!ok)
    throw ShapeError(
        str("[", c.op, "] ", what, " must be [N, C, H, W] (the batch first), got ", c.in[i]));
}

/** Checks and returns the sizes of y = conv(x, w) for x of dims `x` and w of dims `w`. */
ConvDims conv_dims(const InferCtx& c, const std::vector<int64_t>& x,
                   const std::vector<int64_t>& w) {
  ConvDims d{};
  d.groups = c.attrs.i_or("groups", 1);
  if (d.groups < 1)
    throw ShapeError(str("[", c.op, "] groups must be >= 1, got ", d.groups));
  d.win = window_attrs(c.op, c.attrs, {w[2], w[3]});
  d.n = x[0];
  d.c = x[1];
  d.h = x[2];
  d.w = x[3];
  d.o = w[0];
  d.cg = w[1];
  if (d.c % d.groups != 0 || d.o % d.groups != 0)
    throw ShapeError(str("[", c.op, "] groups (", d.groups, ") must divide the ", d.c,
                         " input channels and the ", d.o, " output channels"));
  if (d.c / d.groups != d.cg)
    throw ShapeError(str("[", c.op, "] the weight ", Shape(w), " takes ", d.cg,
                         " input channels per group, but the input ", Shape(x), " has ", d.c,
                         " channels in ", d.groups, d.groups == 1 ? " group" : " groups"));
  d.og = d.o / d.groups;
  d.oh = d.win.out_extent(d.h, false);
  d.ow = d.win.out_extent(d.w, true);
  if (d.oh < 1 || d.ow < 1)
    throw ShapeError(str("[", c.op, "] the kernel ", w[2], "x", w[3], " (dilation ", d.win.dh, "x",
                         d.win.dw, ") does not fit the image ", d.h, "x", d.w, " padded by ",
                         d.win.ph, "x", d.win.pw));
  return d;
}

void require_conv_dtypes(const InferCtx& c) {
  require_float(c, 0);
  require_float(c, 1);
  if (c.in[0].dtype != c.in[1].dtype)
    throw ShapeError(
        str("[", c.op, "] operands must have one dtype, got ", c.in[0], " and ", c.in[1]));
}

Type conv2d_rule(const InferCtx& c) {
  require_conv_dtypes(c);
  require_nchw(c, 0, "the input");
  if (c.in[1].shape.rank() != 4 || c.in[1].shape.has_batch())
    throw ShapeError(str("[conv2d] the weight must be [O, C/groups, KH, KW], got ", c.in[1]));
  const ConvDims d = conv_dims(c, c.in[0].shape.dims(), c.in[1].shape.dims());
  return Type{c.in[0].dtype, Shape{d.n, d.o, d.oh, d.ow}};
}

Type input_grad_rule(const InferCtx& c) {
  require_conv_dtypes(c);
  require_nchw(c, 0, "the output gradient");
  const Shape& g = c.in[0].shape;
  const std::vector<int64_t>& w = c.in[1].shape.dims();
  const std::vector<int64_t>& hw = c.attrs.ints("input");
  if (w.size() != 4 || hw.size() != 2)
    throw ShapeError(str("[", c.op,
                         "] needs a weight [O, C/groups, KH, KW] and the input's "
                         "[H, W], got ",
                         c.in[1], " and ", Shape(hw)));
  const int64_t groups = c.attrs.i_or("groups", 1);
  const ConvDims d = conv_dims(c, {g[0], w[1] * groups, hw[0], hw[1]}, w);
  if (g[1] != d.o || g[2] != d.oh || g[3] != d.ow)
    throw ShapeError(str("[", c.op, "] the output gradient ", c.in[0], " does not match the ",
                         Shape{d.n, d.o, d.oh, d.ow}, " that the weight ", c.in[1],
                         " makes from an input of ", hw[0], "x", hw[1]));
  return Type{c.in[0].dtype, Shape{d.n, d.c, d.h, d.w}};
}

Type weight_grad_rule(const InferCtx& c) {
  require_conv_dtypes(c);
  require_nchw(c, 0, "the input");
  require_nchw(c, 1, "the output gradient");
  const Shape &x = c.in[0].shape, &g = c.in[1].shape;
  const std::vector<int64_t>& k = c.attrs.ints("kernel");
  if (k.size() != 2)
    throw ShapeError(str("[", c.op, "] the kernel must be two sizes, got ", Shape(k)));
  const int64_t groups = c.attrs.i_or("groups", 1);
  if (groups < 1 || x[1] % groups != 0)
    throw ShapeError(
        str("[", c.op, "] groups (", groups, ") must divide the ", x[1], " input channels"));
  const ConvDims d = conv_dims(c, x.dims(), {g[1], x[1] / groups, k[0], k[1]});
  if (g[0] != x[0] || g[2] != d.oh || g[3] != d.ow)
    throw ShapeError(str("[", c.op, "] the output gradient ", c.in[1], " does not match the ",
                         Shape{d.n, d.o, d.oh, d.ow}, " that a ", k[0], "x", k[1],
                         " kernel makes from the input ", c.in[0]));
  return Type{c.in[0].dtype, Shape{d.o, d.cg, k[0], k[1]}};
}

/**
 * Calls f(x offset, w offset, y offset) for every product term of y = conv(x, w) (every output
 * element, input channel of its group and kernel tap that lands inside the image).
 */
template <class F>
void for_each_term(const ConvDims& d, int64_t batch, F&& f) {
  const Window2d& k = d.win;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t o = 0; o < d.o; ++o)
      for (int64_t p = 0; p < d.oh; ++p)
        for (int64_t q = 0; q < d.ow; ++q)
          for (int64_t ci = 0; ci < d.cg; ++ci)
            for (int64_t ky = 0; ky < k.kh; ++ky)
              for (int64_t kx = 0; kx < k.kw; ++kx) {
                const int64_t iy = p * k.sh - k.ph + ky * k.dh, ix = q * k.sw - k.pw + kx * k.dw;
                if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w)
                  continue;
                const int64_t c = o / d.og * d.cg + ci;
                f(((n * d.c + c) * d.h + iy) * d.w + ix, ((o * d.cg + ci) * k.kh + ky) * k.kw + kx,
                  ((n * d.o + o) * d.oh + p) * d.ow + q);
              }
}

/** The sizes of a conv op's convolution, from its node and concrete operand dims. */
ConvDims dims_of(const Node& n, const std::vector<int64_t>& x, const std::vector<int64_t>& w) {
  const InferCtx c{n.def().name, {}, n.attrs};
  return conv_dims(c, x, w);
}

// The reference evaluations scatter every product term where it belongs; the renderings below
// gather them per output element, so the two are written independently.
Tensor conv2d_eval(const EvalCtx& c) {
  const Tensor &x = *c.in[0], &w = *c.in[1];
  Tensor y(c.node.type.dtype, c.out_dims);
  for_each_term(dims_of(c.node, x.dims, w.dims), x.dims[0],
                [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += x[xi] * w[wi]; });
  return y;
}

Tensor input_grad_eval(const EvalCtx& c) {
  const Tensor &g = *c.in[0], &w = *c.in[1];
  Tensor dx(c.node.type.dtype, c.out_dims);
  for_each_term(dims_of(c.node, c.out_dims, w.dims), g.dims[0],
                [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += g[yi] * w[wi]; });
  return dx;
}

Tensor weight_grad_eval(const EvalCtx& c) {
  const Tensor &x = *c.in[0], &g = *c.in[1];
  Tensor dw(c.node.type.dtype, c.out_dims);
  for_each_term(dims_of(c.node, x.dims, c.out_dims), x.dims[0],
                [&](int64_t xi, int64_t wi, int64_t yi) { dw[wi] += x[xi] * g[yi]; });
  return dw;
}

// Renderings: one output element at a time, gathering its terms.

std::string conv2d_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                           const std::vector<std::string>& idx) {
  const ConvDims d =
      conv_dims(InferCtx{n.def().name, in, n.attrs}, in[0].shape.dims(), in[1].shape.dims());
  WindowSource s(w, n.type.dtype);
  const std::string o = s.bind("o", idx[1]);
  const std::string base =
      d.groups == 1 ? ""
                    : s.bind("c0", "(" + o + " / " + s.num(d.og) + ") * " + s.num(d.cg)) + " + ";
  s.open_for("ci", d.cg);
  const auto [iy, ix] = s.open_taps(d.win, idx[2], idx[3], d.h, d.w);
  s.add(w.operand(0, {idx[0], base + s.var("ci"), iy, ix}) + " * " +
        w.operand(1, {o, s.var("ci"), s.var("ky"), s.var("kx")}));
  s.close_all();
  return s.result();
}

std::string input_grad_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                               const std::vector<std::string>& idx) {
  const std::vector<int64_t>& hw = n.attrs.ints("input");
  const int64_t groups = n.attrs.i_or("groups", 1);
  const std::vector<int64_t> wd = in[1].shape.dims();
  const ConvDims d = conv_dims(InferCtx{n.def().name, in, n.attrs},
                               {in[0].shape[0], wd[1] * groups, hw[0], hw[1]}, wd);
  WindowSource s(w, n.type.dtype);
  const std::string c = s.bind("c", idx[1]);
  const std::string ci = groups == 1 ? c : s.bind("ci", c + " % " + s.num(d.cg));
  const std::string o0 =
      groups == 1 ? "" : s.bind("o0", "(" + c + " / " + s.num(d.cg) + ") * " + s.num(d.og)) + " + ";
  s.open_for("oi", d.og);
  const std::string o = o0 + s.var("oi");
  const auto [p, q] = s.open_windows(d.win, idx[2], idx[3], d.oh, d.ow);
  s.add(w.operand(0, {idx[0], o, p, q}) + " * " + w.operand(1, {o, ci, s.var("ky"), s.var("kx")}));
  s.close_all();
  return s.result();
}

std::string weight_grad_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                                const std::vector<std::string>& idx) {
  const std::vector<int64_t>& k = n.attrs.ints("kernel");
  const int64_t groups = n.attrs.i_or("groups", 1);
  const Shape &xs = in[0].shape, &gs = in[1].shape;
  const ConvDims d = conv_dims(InferCtx{n.def().name, in, n.attrs}, xs.dims(),
                               {gs[1], xs[1] / groups, k[0], k[1]});
  WindowSource s(w, n.type.dtype);
  const std::string o = s.bind("o", idx[0]);
  const std::string c =
      groups == 1
          ? idx[1]
          : s.bind("c", "(" + o + " / " + s.num(d.og) + ") * " + s.num(d.cg) + " + " + idx[1]);
  s.open_for("n", xs[0]);
  const auto [iy, ix, p, q] = s.open_outputs(d.win, idx[2], idx[3], d.h, d.w, d.oh, d.ow);
  s.add(w.operand(0, {s.var("n"), c, iy, ix}) + " * " + w.operand(1, {s.var("n"), o, p, q}));
  s.close_all();
  return s.result();
}

constexpr WindowRule kConv2dRule{
    .element = conv2d_element, .reread_operands = true, .conv = ConvProduct::Forward};
constexpr WindowRule kInputGradRule{
    .element = input_grad_element, .reread_operands = true, .conv = ConvProduct::InputGrad};
constexpr WindowRule kWeightGradRule{
    .element = weight_grad_element, .reread_operands = true, .conv = ConvProduct::WeightGrad};

/** The three products are bilinear: J (dx, dw) = f(dx, w) + f(x, dw). */
NodeId bilinear_jvp(JvpCtx& c) {
  return multilinear_jvp(c, {0, 1});
}

} // namespace

const OpDef kConv2dDef{
    .name = "conv2d",
    .kind = OpKind::Window,
    .arity = 2,
    .infer = conv2d_rule,
    // y = conv(x, w) is bilinear: dx = conv2d_input_grad(dy, w), dw = conv2d_weight_grad(x, dy).
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0), w = in(c, 1), g = grad(c);
          const Shape& xs = x.shape();
          const Shape& ws = w.shape();
          const Attrs a = shared_attrs(attrs(c));
          const Val gi[] = {g, w}, wi[] = {x, g};
          return grads({apply(Op::Conv2dInputGrad, gi,
                              Attrs(a).set("input", std::vector<int64_t>{xs[2], xs[3]})),
                        apply(Op::Conv2dWeightGrad, wi,
                              Attrs(a).set("kernel", std::vector<int64_t>{ws[2], ws[3]}))});
        },
    .jvp = bilinear_jvp,
    .eval = conv2d_eval,
    .window = &kConv2dRule,
    .cost = 10,
};

const OpDef kConv2dInputGradDef{
    .name = "conv2d_input_grad",
    .kind = OpKind::Window,
    .arity = 2,
    .infer = input_grad_rule,
    // <u, input_grad(g, w)> = <conv(u, w), g>: d/dg = conv(u, w), d/dw = weight_grad(u, g).
    .vjp =
        [](VjpCtx& c) {
          const Val g = in(c, 0), w = in(c, 1), u = grad(c);
          const Attrs a = shared_attrs(attrs(c));
          const Shape& ws = w.shape();
          const Val ci[] = {u, w}, wi[] = {u, g};
          return grads({apply(Op::Conv2d, ci, a),
                        apply(Op::Conv2dWeightGrad, wi,
                              Attrs(a).set("kernel", std::vector<int64_t>{ws[2], ws[3]}))});
        },
    .jvp = bilinear_jvp,
    .eval = input_grad_eval,
    .window = &kInputGradRule,
    .cost = 10,
};

const OpDef kConv2dWeightGradDef{
    .name = "conv2d_weight_grad",
    .kind = OpKind::Window,
    .arity = 2,
    .infer = weight_grad_rule,
    // <v, weight_grad(x, g)> = <conv(x, v), g>: d/dx = input_grad(g, v), d/dg = conv(x, v).
    .vjp =
        [](VjpCtx& c) {
          const Val x = in(c, 0), g = in(c, 1), v = grad(c);
          const Shape& xs = x.shape();
          const Attrs a = shared_attrs(attrs(c));
          const Val gi[] = {g, v}, ci[] = {x, v};
          return grads({apply(Op::Conv2dInputGrad, gi,
                              Attrs(a).set("input", std::vector<int64_t>{xs[2], xs[3]})),
                        apply(Op::Conv2d, ci, a)});
        },
    .jvp = bilinear_jvp,
    .eval = weight_grad_eval,
    .window = &kWeightGradRule,
    .cost = 10,
};

} // namespace kiln::ir
