#include "plot/ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kiln::plot {

namespace {

// printf-style formatting into a std::string.
template <class... Args>
std::string printf_string(const char* format, Args... args) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, args...);
  return buf;
}

// "1.5e-05" → "1.5e-5", "2e+06" → "2e6": plots have no room for padded exponents.
std::string tidy_exponent(std::string s) {
  const size_t e = s.find('e');
  if (e == std::string::npos)
    return s;
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  const bool negative = exponent.front() == '-';
  exponent.erase(0, exponent.find_first_not_of("+-"));
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

bool near(double a, double b, double scale) {
  return std::abs(a - b) <= 1e-9 * scale;
}

} // namespace

Ticks linear_ticks(double lo, double hi, int max_ticks) {
  max_ticks = std::max(max_ticks, 2);
  const double span = hi - lo;
  const double base = std::pow(10.0, std::floor(std::log10(span / max_ticks)));
  Ticks t;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0, 20.0}) {
    const double step = m * base;
    const double first = std::ceil(lo / step - 1e-9) * step;
    const int count = static_cast<int>(std::floor((hi - first) / step + 1e-9)) + 1;
    if (count > max_ticks)
      continue;
    for (int i = 0; i < count; ++i) {
      double v = first + i * step;
      if (near(v, 0.0, step))
        v = 0.0;
      t.values.push_back(v);
      t.labels.push_back(format_tick(v, step));
    }
    return t;
  }
  return t;
}

Ticks log_ticks(double lo, double hi, int max_ticks) {
  max_ticks = std::max(max_ticks, 2);
  const int k0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
  const int k1 = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
  const int powers = k1 - k0 + 1;
  Ticks t;
  if (powers < 3) {
    // A short range: 1, 2 and 5 times powers of ten, when they are not too many.
    for (int k = k0 - 1; k <= k1; ++k)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, k);
        if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9))
          continue;
        t.values.push_back(v);
        t.labels.push_back(format_tick(v, std::pow(10.0, k)));
      }
    if (t.values.size() >= 2 && static_cast<int>(t.values.size()) <= max_ticks)
      return t;
    t = {};
  }
  if (powers >= 2) {
    const int stride = (k1 - k0) / max_ticks + 1;
    for (int k = k0; k <= k1; k += stride) {
      const double v = std::pow(10.0, k);
      t.values.push_back(v);
      t.labels.push_back(format_tick(v, v));
    }
    return t;
  }
  return linear_ticks(lo, hi, std::min(max_ticks, 5));
}

std::vector<double> log_minor_ticks(double lo, double hi) {
  std::vector<double> out;
  for (int k = static_cast<int>(std::floor(std::log10(lo)));
       k <= static_cast<int>(std::ceil(std::log10(hi))); ++k)
    for (int m = 2; m <= 9; ++m) {
      const double v = m * std::pow(10.0, k);
      if (v >= lo && v <= hi)
        out.push_back(v);
    }
  return out;
}

std::string format_tick(double value, double step) {
  if (value == 0.0)
    return "0";
  const double mag = std::max(std::abs(value), std::abs(step));
  if (mag >= 1e5 || std::abs(step) < 1e-4) {
    // Exponent form with the digits that the step needs relative to the value's magnitude.
    const int exp10 = static_cast<int>(std::floor(std::log10(std::abs(value))));
    const int digits =
        std::clamp(exp10 - static_cast<int>(std::floor(std::log10(step) + 1e-9)), 0, 6);
    return tidy_exponent(printf_string("%.*e", digits, value));
  }
  // Decimals for the step: 0.05 → 2, 0.25 → 2, 2.5 → 1, 500 → 0.
  int decimals = 0;
  while (decimals < 10 &&
         std::abs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) >
             1e-6 * std::pow(10.0, decimals) * std::abs(step))
    ++decimals;
  std::string s = printf_string("%.*f", decimals, value);
  if (s.find_first_not_of("-0.") == std::string::npos)
    s = "0";
  return s;
}

std::string format_value(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  if (value == 0.0)
    return "0";
  const double a = std::abs(value);
  if (a >= 1e4 || a < 1e-3)
    return tidy_exponent(printf_string("%.2e", value));
  return printf_string("%.3g", value);
}

} // namespace kiln::plot
