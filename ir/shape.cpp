#include "ir/shape.h"

namespace kiln::ir {

bool Shape::has_batch() const {
  for (int64_t d : dims_)
    if (d == kBatch)
      return true;
  return false;
}

int64_t Shape::static_numel() const {
  int64_t n = 1;
  for (int64_t d : dims_)
    if (d != kBatch)
      n *= d;
  return n;
}

int64_t Shape::numel(int64_t batch) const {
  int64_t n = 1;
  for (int64_t d : dims_)
    n *= d == kBatch ? batch : d;
  return n;
}

std::vector<int64_t> Shape::concrete(int64_t batch) const {
  std::vector<int64_t> out = dims_;
  for (int64_t& d : out)
    if (d == kBatch)
      d = batch;
  return out;
}

std::string dim_str(int64_t d) {
  return d == kBatch ? "N" : std::to_string(d);
}

std::string Shape::str() const {
  std::string s = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i)
      s += ",";
    s += dim_str(dims_[i]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << s.str();
}

std::string Type::str() const {
  return std::string(to_string(dtype)) + shape.str();
}

std::ostream& operator<<(std::ostream& os, const Type& t) {
  return os << t.str();
}

} // namespace kiln::ir
