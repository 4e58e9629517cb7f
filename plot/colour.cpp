#include "plot/colour.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace kiln::plot {

namespace {

// Tableau 10 (the palette of Tableau and of matplotlib's default cycle).
constexpr std::array<Rgb, 10> kTableau10{{{31, 119, 180},
                                          {255, 127, 14},
                                          {44, 160, 44},
                                          {214, 39, 40},
                                          {148, 103, 189},
                                          {140, 86, 75},
                                          {227, 119, 194},
                                          {127, 127, 127},
                                          {188, 189, 34},
                                          {23, 190, 207}}};

// Viridis sampled at t = 0, 1/9, …, 1; piecewise-linear between them is within a few levels of
// the full table.
constexpr std::array<Rgb, 10> kViridis{{{68, 1, 84},
                                        {72, 40, 120},
                                        {62, 74, 137},
                                        {49, 104, 142},
                                        {38, 130, 142},
                                        {31, 158, 137},
                                        {53, 183, 121},
                                        {110, 206, 88},
                                        {181, 222, 43},
                                        {253, 231, 37}}};

uint8_t channel(double v) {
  return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

double linear(uint8_t c) {
  const double s = c / 255.0;
  return s <= 0.04045 ? s / 12.92 : std::pow((s + 0.055) / 1.055, 2.4);
}

} // namespace

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  return {channel(a.r + (b.r - a.r) * t), channel(a.g + (b.g - a.g) * t),
          channel(a.b + (b.b - a.b) * t)};
}

Rgb tableau10(int i) {
  const int n = static_cast<int>(kTableau10.size());
  return kTableau10[static_cast<size_t>(((i % n) + n) % n)];
}

Rgb viridis(double t) {
  if (!(t > 0.0))
    return kViridis.front(); // also NaN
  if (t >= 1.0)
    return kViridis.back();
  const double pos = t * (kViridis.size() - 1);
  const auto k = static_cast<size_t>(pos);
  return mix(kViridis[k], kViridis[k + 1], pos - static_cast<double>(k));
}

double luminance(Rgb c) {
  return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

} // namespace kiln::plot
