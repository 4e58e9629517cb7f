// 2-D pooling over [N, C, H, W] values, as torch.nn.functional's max_pool2d and avg_pool2d
// (ceil_mode off; avg_pool2d counts the zero padding, PyTorch's count_include_pad default).
// Each is closed under differentiation with its adjoint:
//   max_pool2d(keys, values): values at each window's argmax of keys (the first maximum in
//     row-major order wins, a NaN beats everything, as PyTorch's CPU kernel); the DSL's
//     max_pool2d(x) is max_pool2d(x, x). Its adjoint max_unpool2d(keys, g) adds each window's g
//     at that window's argmax.
//   avg_pool2d(x) and its adjoint avg_pool2d_grad(g), which spreads g / (kh kw) over the window.
// The argmax is piecewise constant in the keys, so no gradient flows to them.

#include <cmath>
#include <limits>

#include "ir/node.h"
#include "ir/ops/rules.h"
#include "ir/ops/window_source.h"

namespace kiln::ir {
using namespace rules;

namespace {

struct PoolDims {
  int64_t n, c, h, w, oh, ow;
  Window2d win;
};

/** The window of a pooling op (attrs kernel, stride, padding, dilation), checked. */
Window2d pool_window(std::string_view op, const Attrs& a) {
  const Window2d k = window_attrs(op, a, a.ints("kernel"));
  // As PyTorch: a window always overlaps the image, so a max always has an element.
  if (2 * k.ph > k.kh || 2 * k.pw > k.kw)
    throw ShapeError(str("[", op, "] padding ", k.ph, "x", k.pw,
                         " must be at most half the kernel ", k.kh, "x", k.kw));
  return k;
}

/** Sizes of pooling an input of dims `x` ([N, C, H, W]) with the op's window. */
PoolDims pool_dims(std::string_view op, const Attrs& a, const std::vector<int64_t>& x) {
  PoolDims d{x[0], x[1], x[2], x[3], 0, 0, pool_window(op, a)};
  d.oh = d.win.out_extent(d.h, false);
  d.ow = d.win.out_extent(d.w, true);
  if (d.oh < 1 || d.ow < 1)
    throw ShapeError(str("[", op, "] the window ", d.win.kh, "x", d.win.kw, " (dilation ", d.win.dh,
                         "x", d.win.dw, ") does not fit the image ", d.h, "x", d.w, " padded by ",
                         d.win.ph, "x", d.win.pw));
  return d;
}

void require_nchw(const InferCtx& c, size_t i) {
  const Shape& s = c.in[i].shape;
  bool ok = s.rank() == 4 && is_float(c.in[i].dtype);
  for (int d = 1; ok && d < 4; ++d)
    ok = s[d] != kBatch;
  if (!ok)
    throw ShapeError(str("[", c.op, "] operand ", i,
                         " must be a float [N, C, H, W] (the batch first), got ", c.in[i]));
}

Type max_pool_rule(const InferCtx& c) {
  require_nchw(c, 0);
  if (c.in[1] != c.in[0])
    throw ShapeError(
        str("[", c.op, "] keys and values must have one type, got ", c.in[0], " and ", c.in[1]));
  const PoolDims d = pool_dims(c.op, c.attrs, c.in[0].shape.dims());
  return Type{c.in[0].dtype, Shape{d.n, d.c, d.oh, d.ow}};
}

/** An adjoint: operand `pooled` must be what pooling the output shape gives. */
void require_pooled(const InferCtx& c, const std::vector<int64_t>& x, size_t pooled) {
  const PoolDims d = pool_dims(c.op, c.attrs, x);
  const Shape want{d.n, d.c, d.oh, d.ow};
  if (c.in[pooled].shape != want)
    throw ShapeError(str("[", c.op, "] the pooled gradient ", c.in[pooled], " must be ", want,
                         ", what the window makes of ", Shape(x)));
}

Type unpool_rule(const InferCtx& c) {
  require_nchw(c, 0);
  require_nchw(c, 1);
  if (c.in[0].dtype != c.in[1].dtype)
    throw ShapeError(
        str("[", c.op, "] operands must have one dtype, got ", c.in[0], " and ", c.in[1]));
  require_pooled(c, c.in[0].shape.dims(), 1);
  return c.in[0];
}

Type avg_pool_rule(const InferCtx& c) {
  require_nchw(c, 0);
  const PoolDims d = pool_dims(c.op, c.attrs, c.in[0].shape.dims());
  return Type{c.in[0].dtype, Shape{d.n, d.c, d.oh, d.ow}};
}

Type avg_pool_grad_rule(const InferCtx& c) {
  require_nchw(c, 0);
  const std::vector<int64_t>& hw = c.attrs.ints("input");
  if (hw.size() != 2)
    throw ShapeError(str("[", c.op, "] input must be the image's [H, W], got ", Shape(hw)));
  const Shape& g = c.in[0].shape;
  const std::vector<int64_t> x{g[0], g[1], hw[0], hw[1]};
  require_pooled(c, x, 0);
  return Type{c.in[0].dtype, Shape(x)};
}

/**
 * Calls f(window offset, input offset) for every input position inside every window of pooling
 * [batch, C, H, W], in each window's row-major order.
 */
template <class F>
void for_each_tap(const PoolDims& d, int64_t batch, F&& f) {
  const Window2d& k = d.win;
  for (int64_t nc = 0; nc < batch * d.c; ++nc)
    for (int64_t p = 0; p < d.oh; ++p)
      for (int64_t q = 0; q < d.ow; ++q)
        for (int64_t ky = 0; ky < k.kh; ++ky)
          for (int64_t kx = 0; kx < k.kw; ++kx) {
            const int64_t iy = p * k.sh - k.ph + ky * k.dh, ix = q * k.sw - k.pw + kx * k.dw;
            if (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w)
              f((nc * d.oh + p) * d.ow + q, (nc * d.h + iy) * d.w + ix);
          }
}

/** The input offset of each window's argmax of `keys` (first maximum; a NaN wins). */
std::vector<int64_t> argmax(const PoolDims& d, const Tensor& keys) {
  std::vector<int64_t> best(static_cast<size_t>(keys.dims[0] * d.c * d.oh * d.ow), -1);
  std::vector<double> top(best.size(), -std::numeric_limits<double>::infinity());
  for_each_tap(d, keys.dims[0], [&](int64_t o, int64_t i) {
    const auto u = static_cast<size_t>(o);
    if (best[u] < 0 || keys[i] > top[u] || std::isnan(keys[i])) {
      best[u] = i;
      top[u] = keys[i];
    }
  });
  return best;
}

Tensor max_pool_eval(const EvalCtx& c) {
  const Tensor &keys = *c.in[0], &values = *c.in[1];
  const std::vector<int64_t> at = argmax(pool_dims("max_pool2d", c.node.attrs, keys.dims), keys);
  Tensor out(c.node.type.dtype, c.out_dims);
  for (size_t o = 0; o < at.size(); ++o)
    out[static_cast<int64_t>(o)] = values[at[o]];
  return out;
}

Tensor unpool_eval(const EvalCtx& c) {
  const Tensor &keys = *c.in[0], &g = *c.in[1];
  const std::vector<int64_t> at = argmax(pool_dims("max_unpool2d", c.node.attrs, keys.dims), keys);
  Tensor out(c.node.type.dtype, c.out_dims);
  for (size_t o = 0; o < at.size(); ++o)
    out[at[o]] += g[static_cast<int64_t>(o)];
  return out;
}

Tensor avg_pool_eval(const EvalCtx& c) {
  const Tensor& x = *c.in[0];
  const PoolDims d = pool_dims("avg_pool2d", c.node.attrs, x.dims);
  Tensor out(c.node.type.dtype, c.out_dims);
  for_each_tap(d, x.dims[0], [&](int64_t o, int64_t i) { out[o] += x[i]; });
  for (double& v : out.data)
    v /= static_cast<double>(d.win.kh * d.win.kw);
  return out;
}

Tensor avg_pool_grad_eval(const EvalCtx& c) {
  const Tensor& g = *c.in[0];
  const PoolDims d = pool_dims("avg_pool2d_grad", c.node.attrs, c.out_dims);
  Tensor out(c.node.type.dtype, c.out_dims);
  const double share = 1.0 / static_cast<double>(d.win.kh * d.win.kw);
  for_each_tap(d, g.dims[0], [&](int64_t o, int64_t i) { out[i] += g[o] * share; });
  return out;
}

// Renderings: one output element at a time.

/** Where a window's argmax is: C variables holding its input row and column. */
struct Argmax {
  std::string y, x;
};

/**
 * Finds the argmax of keys (operand 0) over the window at (p, q) of image (n, c); with `value`,
 * also assigns operand 1 there to the C variable *value. Closes the loops it opens in `s`.
 */
Argmax render_argmax(ElementWriter& w, WindowSource& s, const PoolDims& d, DType t,
                     const std::vector<std::string>& nc, const std::string& p, const std::string& q,
                     const std::string* value) {
  const std::string T(c_type(t)), I = w.index_type();
  // by < 0 until the first tap inside the image; the column is needed only to compare it.
  const std::string top = w.fresh("top"), by = w.fresh("by"), bx = value ? "" : w.fresh("bx");
  w.line(T + " " + top + " = (" + T + ")0;");
  w.line(I + " " + by + " = -1" + (value ? "" : ", " + bx + " = -1") + ";");
  const auto [iy, ix] = s.open_taps(d.win, p, q, d.h, d.w);
  const std::string k = w.operand(0, {nc[0], nc[1], iy, ix});
  s.open("if (" + by + " < 0 || " + k + " > " + top + " || " + k + " != " + k + ")");
  w.line(top + " = " + k + ";");
  w.line(by + " = " + iy + ";");
  if (!value)
    w.line(bx + " = " + ix + ";");
  if (value)
    w.line(*value + " = " + w.operand(1, {nc[0], nc[1], iy, ix}) + ";");
  s.close_all();
  return {by, bx};
}

/** The windows tile the image: stride = kernel, no padding, no dilation (MaxPool2d(2)). */
bool tiles(const Window2d& k) {
  return k.sh == k.kh && k.sw == k.kw && !k.padded() && k.dh == 1 && k.dw == 1;
}

/**
 * The argmax of keys over the tiling window (p, q), as straight-line selects (no branches, so
 * a loop over pixels vectorizes): declares `at`, the tap index of the argmax (row-major), and
 * with `value`, the C variable *value = operand 1 there. Same rule as render_argmax.
 */
std::string tiled_argmax(ElementWriter& w, const PoolDims& d, DType t,
                         const std::vector<std::string>& idx, const std::string& p,
                         const std::string& q, const std::string* value) {
  const std::string T(c_type(t)), I = w.index_type();
  const std::string top = w.fresh("top"), at = w.fresh("at");
  for (int64_t tap = 0; tap < d.win.kh * d.win.kw; ++tap) {
    const std::string y =
        "(" + p + " * " + std::to_string(d.win.kh) + " + " + std::to_string(tap / d.win.kw) + ")";
    const std::string x =
        "(" + q + " * " + std::to_string(d.win.kw) + " + " + std::to_string(tap % d.win.kw) + ")";
    const std::string k = w.operand(0, {idx[0], idx[1], y, x});
    if (tap == 0) {
      w.line(T + " " + top + " = " + k + ";");
      w.line(I + " " + at + " = 0;");
      if (value)
        w.line(*value + " = " + w.operand(1, {idx[0], idx[1], y, x}) + ";");
      continue;
    }
    const std::string better = w.fresh("better");
    w.line("const bool " + better + " = " + k + " > " + top + " || " + k + " != " + k + ";");
    w.line(top + " = " + better + " ? " + k + " : " + top + ";");
    w.line(at + " = " + better + " ? " + std::to_string(tap) + " : " + at + ";");
    if (value)
      w.line(*value + " = " + better + " ? " + w.operand(1, {idx[0], idx[1], y, x}) + " : " +
             *value + ";");
  }
  return at;
}

std::string max_pool_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                             const std::vector<std::string>& idx) {
  const PoolDims d = pool_dims(n.def().name, n.attrs, in[0].shape.dims());
  WindowSource s(w, n.type.dtype);
  if (tiles(d.win)) {
    tiled_argmax(w, d, n.type.dtype, idx, idx[2], idx[3], &s.result());
    return s.result();
  }
  render_argmax(w, s, d, n.type.dtype, {idx[0], idx[1]}, idx[2], idx[3], &s.result());
  return s.result();
}

std::string unpool_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                           const std::vector<std::string>& idx) {
  const PoolDims d = pool_dims(n.def().name, n.attrs, in[0].shape.dims());
  WindowSource s(w, n.type.dtype);
  if (tiles(d.win)) {
    // The one window that holds this pixel (none past the last whole window).
    const std::string p = s.bind("p", idx[2] + " / " + std::to_string(d.win.kh));
    const std::string q = s.bind("q", idx[3] + " / " + std::to_string(d.win.kw));
    if (d.h % d.win.kh != 0 || d.w % d.win.kw != 0)
      s.open("if (" + p + " < " + std::to_string(d.oh) + " && " + q + " < " + std::to_string(d.ow) +
             ")");
    const std::string at = tiled_argmax(w, d, n.type.dtype, idx, p, q, nullptr);
    const std::string mine = "(" + idx[2] + " - " + p + " * " + std::to_string(d.win.kh) + ") * " +
                             std::to_string(d.win.kw) + " + " + idx[3] + " - " + q + " * " +
                             std::to_string(d.win.kw);
    w.line(s.result() + " = " + at + " == " + mine + " ? " + w.operand(1, {idx[0], idx[1], p, q}) +
           " : (" + s.type() + ")0;");
    s.close_all();
    return s.result();
  }
  // Every window that holds this pixel adds its gradient if the pixel is its argmax.
  const auto [p, q] = s.open_windows(d.win, idx[2], idx[3], d.oh, d.ow);
  WindowSource inner(w, n.type.dtype, nullptr);
  const Argmax at = render_argmax(w, inner, d, n.type.dtype, {idx[0], idx[1]}, p, q, nullptr);
  s.open("if (" + at.y + " == " + idx[2] + " && " + at.x + " == " + idx[3] + ")");
  s.add(w.operand(1, {idx[0], idx[1], p, q}));
  s.close_all();
  return s.result();
}

std::string avg_pool_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                             const std::vector<std::string>& idx) {
  const PoolDims d = pool_dims(n.def().name, n.attrs, in[0].shape.dims());
  WindowSource s(w, n.type.dtype);
  const auto [iy, ix] = s.open_taps(d.win, idx[2], idx[3], d.h, d.w);
  s.add(w.operand(0, {idx[0], idx[1], iy, ix}));
  s.close_all();
  return "(" + s.result() + " / (" + s.type() + ")" + std::to_string(d.win.kh * d.win.kw) + ")";
}

std::string avg_pool_grad_element(ElementWriter& w, const Node& n, std::span<const Type> in,
                                  const std::vector<std::string>& idx) {
  const PoolDims d = pool_dims(n.def().name, n.attrs, n.type.shape.dims());
  WindowSource s(w, n.type.dtype);
  const auto [p, q] = s.open_windows(d.win, idx[2], idx[3], d.oh, d.ow);
  s.add(w.operand(0, {idx[0], idx[1], p, q}));
  s.close_all();
  return "(" + s.result() + " / (" + s.type() + ")" + std::to_string(d.win.kh * d.win.kw) + ")";
}

// A pool reads each input element about once (the activation that feeds it is computed on the
// fly); an adjoint reads each pooled gradient once per tap of its window.
constexpr WindowRule kMaxPoolRule{.element = max_pool_element};
constexpr WindowRule kUnpoolRule{.element = unpool_element,
                                 .reread_operands = true,
                                 // The pixels of one tiling window's row share its argmax.
                                 .columns_together = [](const Node& n) -> int64_t {
                                   const Window2d k = pool_window(n.def().name, n.attrs);
                                   return tiles(k) ? k.kw : 1;
                                 },
                                 // And its rows (W5's unpooling: 1.5 -> 0.5 ms).
                                 .rows_together = [](const Node& n) -> int64_t {
                                   const Window2d k = pool_window(n.def().name, n.attrs);
                                   return tiles(k) ? k.kh : 1;
                                 }};
constexpr WindowRule kAvgPoolRule{.element = avg_pool_element};
constexpr WindowRule kAvgPoolGradRule{.element = avg_pool_grad_element, .reread_operands = true};

/** The window attributes of a pooling node, for its adjoint (input: the image's [H, W]). */
Attrs pool_attrs(const Attrs& a) {
  Attrs out;
  for (const char* key : {"kernel", "stride", "padding", "dilation"})
    for (const auto& [k, v] : a.items())
      if (k == key)
        out.set(k, v);
  return out;
}

} // namespace

const OpDef kAvgPool2dDef{
    .name = "avg_pool2d",
    .kind = OpKind::Window,
    .arity = 1,
    .infer = avg_pool_rule,
    // Linear: the cotangent spreads evenly over each window.
    .vjp =
        [](VjpCtx& c) {
          const Shape& xs = in(c, 0).shape();
          const Val g[] = {grad(c)};
          return grads(
              {apply(Op::AvgPool2dGrad, g,
                     pool_attrs(attrs(c)).set("input", std::vector<int64_t>{xs[2], xs[3]}))});
        },
    .jvp = [](JvpCtx& c) { return multilinear_jvp(c, {0}); },
    .eval = avg_pool_eval,
    .window = &kAvgPoolRule,
};

const OpDef kAvgPool2dGradDef{
    .name = "avg_pool2d_grad",
    .kind = OpKind::Window,
    .arity = 1,
    .infer = avg_pool_grad_rule,
    // The adjoint of the adjoint is avg_pool2d.
    .vjp =
        [](VjpCtx& c) {
          const Val u[] = {grad(c)};
          return grads({apply(Op::AvgPool2d, u, pool_attrs(attrs(c)))});
        },
    .jvp = [](JvpCtx& c) { return multilinear_jvp(c, {0}); },
    .eval = avg_pool_grad_eval,
    .window = &kAvgPoolGradRule,
};

const OpDef kMaxPool2dDef{
    .name = "max_pool2d",
    .kind = OpKind::Window,
    .arity = 2,
    .infer = max_pool_rule,
    // Linear in the values: each window's cotangent goes back to its argmax.
    .vjp =
        [](VjpCtx& c) {
          const Val a[] = {in(c, 0), grad(c)};
          return std::vector<NodeId>{kNoGrad, apply(Op::MaxUnpool2d, a, pool_attrs(attrs(c))).id()};
        },
    .jvp = [](JvpCtx& c) { return multilinear_jvp(c, {1}); },
    .eval = max_pool_eval,
    .window = &kMaxPoolRule,
};

const OpDef kMaxUnpool2dDef{
    .name = "max_unpool2d",
    .kind = OpKind::Window,
    .arity = 2,
    .infer = unpool_rule,
    // Linear in g; its adjoint reads each window's argmax: max_pool2d(keys, u).
    .vjp =
        [](VjpCtx& c) {
          const Val a[] = {in(c, 0), grad(c)};
          return std::vector<NodeId>{kNoGrad, apply(Op::MaxPool2d, a, pool_attrs(attrs(c))).id()};
        },
    .jvp = [](JvpCtx& c) { return multilinear_jvp(c, {1}); },
    .eval = unpool_eval,
    .window = &kUnpoolRule,
};

} // namespace kiln::ir
