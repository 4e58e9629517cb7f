#include "ir/window.h"

#include "base/error.h"

namespace kiln::ir {

int64_t Window2d::out_extent(int64_t in, bool w) const {
  const int64_t span = (w ? dw : dh) * ((w ? kw : kh) - 1) + 1;
  const int64_t room = in + 2 * (w ? pw : ph) - span;
  return room < 0 ? 0 : room / (w ? sw : sh) + 1;
}

namespace {
/** "[0,-1]": a list as written (Shape would print -1 as the batch dim N). */
std::string list(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}
} // namespace

Window2d window_attrs(std::string_view op, const Attrs& attrs, std::vector<int64_t> kernel) {
  auto pair = [&](const char* key, int64_t fallback, int64_t min) {
    std::vector<int64_t> v{fallback, fallback};
    if (attrs.has(key))
      v = attrs.ints(key);
    if (v.size() != 2 || v[0] < min || v[1] < min)
      throw ShapeError(str("[", op, "] ", key, " must be two values (height, width) >= ", min,
                           ", got ", list(v)));
    return v;
  };
  if (kernel.size() != 2 || kernel[0] < 1 || kernel[1] < 1)
    throw ShapeError(
        str("[", op, "] the kernel must be two sizes (height, width) >= 1, got ", list(kernel)));
  const auto s = pair("stride", 1, 1), p = pair("padding", 0, 0), d = pair("dilation", 1, 1);
  return {kernel[0], kernel[1], s[0], s[1], p[0], p[1], d[0], d[1]};
}

Attrs window_attrs_of(const Window2d& w) {
  return Attrs()
      .set("stride", std::vector<int64_t>{w.sh, w.sw})
      .set("padding", std::vector<int64_t>{w.ph, w.pw})
      .set("dilation", std::vector<int64_t>{w.dh, w.dw});
}

} // namespace kiln::ir
