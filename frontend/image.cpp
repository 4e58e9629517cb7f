#include "frontend/image.h"

#include "base/error.h"

namespace kiln::detail {

namespace {
std::vector<int64_t> pair(const std::array<int64_t, 2>& a) {
  return {a[0], a[1]};
}
} // namespace

ir::Val lower_conv2d(const ir::Val& x, const ir::Val& w, const Conv2dOptions& o) {
  return ir::conv2d(x, w,
                    ir::Attrs()
                        .set("stride", pair(o.stride))
                        .set("padding", pair(o.padding))
                        .set("dilation", pair(o.dilation))
                        .set("groups", o.groups));
}

ir::Val lower_pool2d(ir::Op op, const ir::Val& x, const Pool2dOptions& o) {
  const std::array<int64_t, 2> stride = o.stride[0] == 0 && o.stride[1] == 0 ? o.kernel : o.stride;
  ir::Attrs a = ir::Attrs()
                    .set("kernel", pair(o.kernel))
                    .set("stride", pair(stride))
                    .set("padding", pair(o.padding));
  if (op == ir::Op::AvgPool2d) {
    if (o.dilation[0] != 1 || o.dilation[1] != 1)
      throw ShapeError("[avg_pool2d] has no dilation (as in PyTorch); leave it at 1");
    return ir::avg_pool2d(x, a);
  }
  return ir::max_pool2d(x, a.set("dilation", pair(o.dilation)));
}

} // namespace kiln::detail
