#pragma once
// Measures the error of a float function in ulp against a double reference rounded to float,
// over every stride-th float of a range.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/error.h"

namespace kiln::test {

/** Position of x on the line of floats: adjacent floats differ by 1, -0 and +0 are both 0. */
inline int64_t float_ordinal(float x) {
  int32_t i;
  std::memcpy(&i, &x, sizeof i);
  return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : i;
}

/** Inverse of float_ordinal (for ordinals of non-NaN floats). */
inline float float_from_ordinal(int64_t o) {
  const uint32_t u = o < 0 ? 0x80000000u | static_cast<uint32_t>(-o) : static_cast<uint32_t>(o);
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

/** Distance in ulp between two floats; both NaN is 0, one NaN is "infinitely" far. */
inline int64_t ulp_distance(float a, float b) {
  if (a != a || b != b)
    return (a != a && b != b) ? 0 : INT64_MAX;
  const int64_t d = float_ordinal(a) - float_ordinal(b);
  return d < 0 ? -d : d;
}

/** The outcome of a sweep: the largest error and where it happened. */
struct UlpReport {
  int64_t max_ulp = 0;
  float worst_x = 0.0f;
  float got = 0.0f;
  float want = 0.0f;
  int64_t evaluations = 0;

  std::string describe(const char* name) const {
    return str(name, ": max ", max_ulp, " ulp over ", evaluations,
               " floats, worst at x = ", worst_x, " (", hex_float(worst_x), "): got ", got,
               ", want ", want);
  }
  static std::string hex_float(float x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%a", static_cast<double>(x));
    return buf;
  }
};

/**
 * Compares the outputs of batch(xs, ys, n) with float(ref(double(x))) for every stride-th float
 * from lo to hi (both included, in float order).
 */
template <class Batch, class Ref>
UlpReport sweep_ulp_batch(Batch batch, Ref ref, float lo, float hi, int64_t stride = 1) {
  UlpReport report;
  constexpr int kBatch = 4096;
  std::vector<float> xs(kBatch), ys(kBatch);
  const int64_t last = float_ordinal(hi);
  for (int64_t o = float_ordinal(lo); o <= last;) {
    int n = 0;
    for (; n < kBatch && o <= last; ++n, o += stride)
      xs[n] = float_from_ordinal(o);
    batch(xs.data(), ys.data(), n);
    for (int i = 0; i < n; ++i) {
      const float want = static_cast<float>(ref(static_cast<double>(xs[i])));
      const int64_t d = ulp_distance(ys[i], want);
      if (d > report.max_ulp)
        report = {d, xs[i], ys[i], want, report.evaluations};
    }
    report.evaluations += n;
  }
  return report;
}

/** sweep_ulp_batch for a scalar function, called in a plain loop (vectorized where it can be). */
template <class F, class Ref>
UlpReport sweep_ulp(F f, Ref ref, float lo, float hi, int64_t stride = 1) {
  auto batch = [&f](const float* xs, float* ys, int n) {
    for (int i = 0; i < n; ++i)
      ys[i] = f(xs[i]);
  };
  return sweep_ulp_batch(batch, ref, lo, hi, stride);
}

/** Merges the reports of several sweeps of one function. */
inline UlpReport worst_of(std::initializer_list<UlpReport> reports) {
  UlpReport out;
  for (const UlpReport& r : reports) {
    const int64_t evaluations = out.evaluations + r.evaluations;
    if (r.max_ulp > out.max_ulp || out.evaluations == 0)
      out = r;
    out.evaluations = evaluations;
  }
  return out;
}

} // namespace kiln::test
