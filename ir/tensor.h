#pragma once
// A host tensor for the reference interpreter and for tests: a dtype, concrete dims and the
// values as doubles (exact for f32, f64 and integers below 2^53).

#include <cstdint>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace kiln::ir {

/** Dense row-major host tensor holding doubles. */
struct Tensor {
  DType dtype = DType::F64;
  std::vector<int64_t> dims;
  std::vector<double> data;

  Tensor() = default;
  Tensor(DType t, std::vector<int64_t> d, double fill = 0.0);
  Tensor(DType t, std::vector<int64_t> d, std::vector<double> values);

  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int rank() const { return static_cast<int>(dims.size()); }
  double& operator[](int64_t i) { return data[static_cast<size_t>(i)]; }
  double operator[](int64_t i) const { return data[static_cast<size_t>(i)]; }
  /** Row-major strides of `dims`. */
  std::vector<int64_t> strides() const;
  /** "f32[2,3]". */
  std::string type_str() const;
};

/** Product of dims. */
int64_t numel_of(const std::vector<int64_t>& dims);

} // namespace kiln::ir
