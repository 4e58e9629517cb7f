#pragma once
// Colours for kiln's plots: 8-bit sRGB triples, the Tableau 10 cycle for series and classes, and
// viridis for values.

#include <cstdint>

namespace kiln::plot {

/** An 8-bit sRGB colour. */
struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;

  friend bool operator==(const Rgb&, const Rgb&) = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};
/** Text and tick labels: near-black, softer than pure black. */
inline constexpr Rgb kInk{38, 38, 38};
/** Axis lines and tick marks. */
inline constexpr Rgb kAxis{90, 90, 90};
/** Grid lines behind the data. */
inline constexpr Rgb kGrid{229, 229, 229};

/** (1 − t)·a + t·b per channel, t clamped to [0, 1]. */
Rgb mix(Rgb a, Rgb b, double t);

/** The i-th colour of the Tableau 10 cycle (blue, orange, green, red, …), repeating after 10. */
Rgb tableau10(int i);

/**
 * Viridis, the perceptually uniform map (dark purple at 0, yellow at 1), interpolated between
 * ten anchor colours; t is clamped to [0, 1].
 */
Rgb viridis(double t);

/** Relative luminance in [0, 1] (Rec. 709 weights on linearised sRGB). */
double luminance(Rgb c);

} // namespace kiln::plot
