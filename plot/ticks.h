#pragma once
// Axis ticks a person would choose: round steps (1, 2, 2.5 or 5 times a power of ten) on linear
// axes, powers of ten on log axes, and labels with just the digits the step needs.

#include <string>
#include <vector>

namespace kiln::plot {

/** Tick positions with their labels, ascending. */
struct Ticks {
  std::vector<double> values;
  std::vector<std::string> labels;
};

/**
 * At most `max_ticks` (>= 2) evenly spaced round values within [lo, hi] (lo < hi), spaced by the
 * smallest step of the form {1, 2, 2.5, 5} × 10^k that keeps the count within max_ticks.
 */
Ticks linear_ticks(double lo, double hi, int max_ticks);

/**
 * Ticks for a log axis over [lo, hi] (0 < lo < hi): powers of ten (every second, third, …
 * power when there would be more than max_ticks). When fewer than two powers fall in the range,
 * 1, 2 and 5 times powers of ten, and failing that linear_ticks.
 */
Ticks log_ticks(double lo, double hi, int max_ticks);

/** 2 … 9 times each power of ten within [lo, hi]: the minor grid of a log axis. */
std::vector<double> log_minor_ticks(double lo, double hi);

/**
 * `value` with as many decimals as `step` needs ("0.25" for step 0.05, "1500" for step 500),
 * switching to exponent form ("2.5e-05" reads "2.5e-5") for very large or very small magnitudes.
 * Never prints "-0".
 */
std::string format_tick(double value, double step);

/** `value` to about three significant digits ("0.0123", "1.23e-5", "42.5"), for annotations. */
std::string format_value(double value);

} // namespace kiln::plot
