#include "ir/ops/rules.h"

#include <algorithm>

namespace kiln::ir::rules {

Type same_type(const InferCtx& c) {
  for (size_t i = 1; i < c.in.size(); ++i)
    if (c.in[i] != c.in[0])
      throw ShapeError(
          str("[", c.op, "] operands must have one type, got ", c.in[0], " and ", c.in[i]));
  return c.in[0];
}

Type same_float_type(const InferCtx& c) {
  for (size_t i = 0; i < c.in.size(); ++i)
    require_float(c, i);
  return same_type(c);
}

void require_float(const InferCtx& c, size_t i) {
  if (!is_float(c.in[i].dtype))
    throw ShapeError(str("[", c.op, "] operand ", i, " must be f32 or f64, got ", c.in[i]));
}

void require_int(const InferCtx& c, size_t i) {
  if (is_float(c.in[i].dtype))
    throw ShapeError(str("[", c.op, "] operand ", i, " must be i32 or i64, got ", c.in[i]));
}

std::vector<int64_t> axes_attr(const InferCtx& c, const char* key, int rank) {
  std::vector<int64_t> axes = c.attrs.ints(key);
  for (int64_t a : axes)
    if (a < 0 || a >= rank)
      throw ShapeError(str("[", c.op, "] axis ", a, " is out of range for ", c.in[0]));
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw ShapeError(str("[", c.op, "] axes repeat: ", Shape(axes)));
  return axes;
}

DType dtype_attr(std::string_view op, const Attrs& attrs) {
  auto t = parse_dtype(attrs.s("dtype"));
  if (!t)
    throw ShapeError(str("[", op, "] unknown dtype '", attrs.s("dtype"), "'"));
  return *t;
}

} // namespace kiln::ir::rules
