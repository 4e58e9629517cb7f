#pragma once
// Shapes with static dims and one dynamic dim, the batch size N.

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "ir/dtype.h"

namespace kiln::ir {

/** The dynamic batch dimension. Every other dim is a static size >= 1. */
inline constexpr int64_t kBatch = -1;

/** Row-major shape. A dim is a static size or kBatch ("N" in listings). */
class Shape {
public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  int rank() const { return static_cast<int>(dims_.size()); }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  bool is_scalar() const { return dims_.empty(); }
  bool has_batch() const;
  /** Product of the static dims (the batch dim counts as 1). */
  int64_t static_numel() const;
  /** Number of elements once the batch size is known. */
  int64_t numel(int64_t batch) const;
  /** The dims with kBatch replaced by `batch`. */
  std::vector<int64_t> concrete(int64_t batch) const;

  bool operator==(const Shape&) const = default;
  /** "[N,14]", "[]" for a scalar. */
  std::string str() const;

private:
  std::vector<int64_t> dims_;
};

std::ostream& operator<<(std::ostream& os, const Shape& s);
/** Prints one dim: "N" for the batch dim. */
std::string dim_str(int64_t d);

/** The type of an IR value: dtype and shape. */
struct Type {
  DType dtype = DType::F32;
  Shape shape;
  bool operator==(const Type&) const = default;
  /** "f32[N,14]". */
  std::string str() const;
};

std::ostream& operator<<(std::ostream& os, const Type& t);

} // namespace kiln::ir
