#pragma once
// Axes for kiln's plots: page layout (margins sized to the tick labels, axis labels and title),
// the mapping from data to pixels, grid, frame, ticks and legend. The plot functions draw their
// data between draw_grid() and draw_axes().

#include "plot/canvas.h"
#include "plot/ticks.h"

#include <string>
#include <vector>

namespace kiln::plot {

/**
 * Where a plot's data area sits on the image and which values its edges stand for. The data area
 * spans pixel coordinates [left, right] × [top, bottom]; x_min maps to `left`, x_max to `right`,
 * y_min to `bottom` and y_max to `top` (so y_min > y_max flips the axis, as a heatmap's rows do).
 * With log_y the y mapping is linear in log10(y).
 */
struct Frame {
  int left = 0;
  int top = 0;
  int right = 0;
  int bottom = 0;
  double x_min = 0.0;
  double x_max = 1.0;
  double y_min = 0.0;
  double y_max = 1.0;
  bool log_y = false;

  /** The pixel column of data value x. */
  double px(double x) const;
  /** The pixel row of data value y. */
  double py(double y) const;
  /** The pixel position of (x, y). */
  Point to_pixel(double x, double y) const { return {px(x), py(y)}; }
};

/** One axis of a plot: the value range shown, its scale, its label and its ticks. */
struct Axis {
  /** The values at the start and the end of the axis (lo > hi runs the axis backwards). */
  double lo = 0.0;
  double hi = 1.0;
  /** Logarithmic scale (lo and hi must then be positive). */
  bool log = false;
  /** The axis label; empty for none. */
  std::string label;
  /** Ticks at integers only (epochs, counts). */
  bool integer_ticks = false;
  /** Fixed ticks (e.g. category names); when empty, place_axes() chooses round ones. */
  Ticks ticks;
  /** Grid lines at the ticks. */
  bool grid = true;
};

/**
 * [lo, hi] widened by `pad` of its span on each side (by the same factor in log space when
 * `log`), and opened up around a single value so the range is never empty.
 */
void pad_range(double& lo, double& hi, bool log, double pad = 0.04);

/**
 * Lays out a plot on an image of width × height pixels: reserves room for the title, axis labels
 * and tick labels, and `reserve_right` extra pixels right of the data area (for a legend or a
 * colour bar). Fills in the ticks of axes that have none, as many as fit without crowding, and
 * returns the frame. With aspect > 0 the data area shrinks to height / width = aspect (centred
 * across), e.g. 1 for 2D inputs of equal scale on both axes.
 */
Frame place_axes(int width, int height, const std::string& title, Axis& x, Axis& y,
                 int reserve_right = 0, double aspect = 0.0);

/** Grid lines at the ticks of both axes (and minor lines on a log y axis). */
void draw_grid(Canvas& canvas, const Frame& frame, const Axis& x, const Axis& y);

/** The frame around the data area, tick marks, tick labels, axis labels and the title. */
void draw_axes(Canvas& canvas, const Frame& frame, const Axis& x, const Axis& y,
               const std::string& title);

/** How a legend entry shows its series. */
enum class LegendKind { Line, Dashed, Marker, Patch };

/** One line of a legend. A Patch shows `fill` as a square with a `colour` marker on it. */
struct LegendEntry {
  std::string name;
  Rgb colour;
  LegendKind kind = LegendKind::Line;
  Rgb fill = kWhite;
};

/** Width and height in pixels of the legend box for `entries`. */
Point legend_size(const std::vector<LegendEntry>& entries);

/** Draws the legend box with its top-left corner at (x, y). */
void draw_legend_at(Canvas& canvas, int x, int y, const std::vector<LegendEntry>& entries);

/**
 * Draws the legend inside the data area, in the corner (upper right, upper left, lower left,
 * lower right) that hides the fewest of the `avoid` points (pixel positions of the data).
 */
void draw_legend(Canvas& canvas, const Frame& frame, const std::vector<LegendEntry>& entries,
                 const std::vector<Point>& avoid);

} // namespace kiln::plot
