#pragma once
// The DSL's ops over images, values [N, C, H, W]: 2-D convolution and pooling, as
// torch.nn.functional's conv2d, max_pool2d and avg_pool2d.
//
//   kiln::Input<1, 28, 28>    x("x");           // [N, 1, 28, 28]
//   kiln::Param<32, 1, 3, 3>  K("K");
//   auto u = kiln::conv2d(x, K);                // [N, 32, 26, 26], checked while compiling
//   auto v = kiln::max_pool2d(kiln::relu(u), 2);
//
// With static dims and no options, conv2d checks the channels and the kernel's size while the
// program compiles (a static_assert that reads as a sentence); everything else is checked when
// the expression is lowered (kiln::ShapeError naming the op and the shapes).

#include <array>

#include "frontend/ops.h"

namespace kiln {

/** Stride, zero padding and dilation (height, width) and groups of a convolution. */
struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

/** A pooling window; a stride of {0, 0} means the kernel's size (PyTorch's default). */
struct Pool2dOptions {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{0, 0};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
};

namespace shape {

/** Result shape of conv2d(x, w) with the default options, checked. */
template <class X, class W>
constexpr auto conv2d_shape() {
  if constexpr (!is_static<X> || !is_static<W>) {
    return AnyShape{};
  } else {
    static_assert(X::rank == 4 && W::rank == 4,
                  "conv2d: the input must be [N, C, H, W] and the weight [O, C, KH, KW]");
    static_assert(dims_match(X::dims[1], W::dims[1]),
                  "conv2d: the weight's input channels must equal the input's channels");
    constexpr auto fits = [](int64_t image, int64_t kernel) {
      return image == kAnyDim || kernel == kAnyDim || kernel <= image;
    };
    static_assert(fits(X::dims[2], W::dims[2]) && fits(X::dims[3], W::dims[3]),
                  "conv2d: the kernel must not be larger than the image");
    constexpr auto out = [](int64_t image, int64_t kernel) {
      return image == kAnyDim || kernel == kAnyDim ? kAnyDim : image - kernel + 1;
    };
    return Dims<X::dims[0], W::dims[0], out(X::dims[2], W::dims[2]), out(X::dims[3], W::dims[3])>{};
  }
}

} // namespace shape

namespace detail {

ir::Val lower_conv2d(const ir::Val& x, const ir::Val& w, const Conv2dOptions& o);
ir::Val lower_pool2d(ir::Op op, const ir::Val& x, const Pool2dOptions& o);

/** conv2d(x, w) with the default options: static checks where the dims are known. */
struct Conv2dTag {
  template <class X, class W>
  using Shape = decltype(shape::conv2d_shape<X, W>());
  ir::Val lower(LowerCtx&, const ir::Val& x, const ir::Val& w) const {
    return lower_conv2d(x, w, {});
  }
};

/** conv2d(x, w, options): checked when lowered. */
struct Conv2dOptionsTag {
  Conv2dOptions options;
  template <class X, class W>
  using Shape = AnyShape;
  ir::Val lower(LowerCtx&, const ir::Val& x, const ir::Val& w) const {
    return lower_conv2d(x, w, options);
  }
};

template <ir::Op O>
struct Pool2dTag {
  Pool2dOptions options;
  template <class X>
  using Shape = AnyShape;
  ir::Val lower(LowerCtx&, const ir::Val& x) const { return lower_pool2d(O, x, options); }
};

} // namespace detail

/**
 * The 2-D convolution (a cross-correlation, as PyTorch's) of images x [N, C, H, W] with the
 * weight w [O, C, KH, KW]: [N, O, H - KH + 1, W - KW + 1].
 */
template <Expression X, Expression W>
auto conv2d(const X& x, const W& w) {
  return make_apply(detail::Conv2dTag{}, x, w);
}
/** The same with stride, zero padding, dilation and groups (w is [O, C / groups, KH, KW]). */
template <Expression X, Expression W>
auto conv2d(const X& x, const W& w, const Conv2dOptions& options) {
  return make_apply(detail::Conv2dOptionsTag{options}, x, w);
}

/** The maximum over each window (a NaN counts as the largest, as in PyTorch). */
template <Expression X>
auto max_pool2d(const X& x, const Pool2dOptions& options) {
  return make_apply(detail::Pool2dTag<ir::Op::MaxPool2d>{options}, x);
}
/** Square windows of `kernel`, stride `kernel`. */
template <Expression X>
auto max_pool2d(const X& x, int64_t kernel) {
  return max_pool2d(x, Pool2dOptions{.kernel = {kernel, kernel}});
}
/** The mean over each window, the zero padding counted (PyTorch's count_include_pad). */
template <Expression X>
auto avg_pool2d(const X& x, const Pool2dOptions& options) {
  return make_apply(detail::Pool2dTag<ir::Op::AvgPool2d>{options}, x);
}
template <Expression X>
auto avg_pool2d(const X& x, int64_t kernel) {
  return avg_pool2d(x, Pool2dOptions{.kernel = {kernel, kernel}});
}

} // namespace kiln
