#pragma once
// Comparing generated kernels' results with the reference interpreter's.

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "ir/tensor.h"

namespace kiln::test {

/**
 * Largest error of `got` against `want`, relative to |want_i| + max|want| (so a value near zero
 * in a tensor of large values is judged by the tensor's scale). NaN matches NaN and infinities
 * match infinities of the same sign; anything else involving them is an error of +inf.
 */
inline double max_rel_error(const ir::Tensor& got, const ir::Tensor& want) {
  if (got.dims != want.dims)
    return INFINITY;
  double scale = 0;
  for (double w : want.data)
    if (std::isfinite(w))
      scale = std::max(scale, std::abs(w));
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g))
        return INFINITY;
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w)
        return INFINITY;
      continue;
    }
    worst = std::max(worst, std::abs(g - w) / (std::abs(w) + scale + 1e-30));
  }
  return worst;
}

/** The first few values of both tensors, for failure messages. */
inline std::string side_by_side(const ir::Tensor& got, const ir::Tensor& want, int n = 6) {
  std::ostringstream os;
  os << "got " << got.type_str() << " want " << want.type_str() << "\n";
  for (int64_t i = 0; i < std::min<int64_t>(n, std::min(got.numel(), want.numel())); ++i)
    os << "  [" << i << "] " << got[i] << " vs " << want[i] << "\n";
  return os.str();
}

} // namespace kiln::test
