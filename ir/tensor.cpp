#include "ir/tensor.h"

#include "base/error.h"
#include "ir/shape.h"

namespace kiln::ir {

int64_t numel_of(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

Tensor::Tensor(DType t, std::vector<int64_t> d, double fill)
    : dtype(t), dims(std::move(d)), data(static_cast<size_t>(numel_of(dims)), fill) {}

Tensor::Tensor(DType t, std::vector<int64_t> d, std::vector<double> values)
    : dtype(t), dims(std::move(d)), data(std::move(values)) {
  if (static_cast<int64_t>(data.size()) != numel_of(dims))
    throw ShapeError(
        str("[tensor] ", Shape(dims), " needs ", numel_of(dims), " values, got ", data.size()));
}

std::vector<int64_t> Tensor::strides() const {
  std::vector<int64_t> s(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i)
    s[static_cast<size_t>(i)] = s[static_cast<size_t>(i) + 1] * dims[static_cast<size_t>(i) + 1];
  return s;
}

std::string Tensor::type_str() const {
  return std::string(to_string(dtype)) + Shape(dims).str();
}

} // namespace kiln::ir
