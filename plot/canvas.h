#pragma once
// The drawing core of kiln's plots: an RGB canvas and coverage masks. Strokes are anti-aliased by
// coverage (the distance from each pixel centre to the shape), and a whole polyline is gathered
// in one mask before it is painted, so joints do not darken where segments overlap. Pixel (x, y)
// covers [x, x+1) × [y, y+1); y grows downward.

#include "plot/colour.h"

#include <string>
#include <vector>

namespace kiln::plot {

/** A point in pixel coordinates (sub-pixel positions allowed). */
struct Point {
  double x = 0.0;
  double y = 0.0;
};

/** Per-pixel coverage in [0, 1]. Shapes combine by maximum, so overlaps do not add up. */
class Mask {
public:
  /** An empty (all 0) mask of width × height pixels. */
  Mask(int width, int height);

  /** Size in pixels. */
  int width() const { return width_; }
  int height() const { return height_; }

  /** Coverage at (x, y); 0 outside the mask. */
  float at(int x, int y) const;

  /** Raises the coverage at (x, y) to at least `alpha`; ignored outside the mask. */
  void cover(int x, int y, float alpha);

  /** A straight stroke of the given width with round ends. */
  void line(Point a, Point b, double width);

  /**
   * A stroke through `points` with round joints. With dash > 0 it is drawn as dashes of length
   * `dash` separated by gaps of length `gap`, measured along the line.
   */
  void polyline(const std::vector<Point>& points, double width, double dash = 0.0,
                double gap = 0.0);

  /** A filled disc. */
  void disc(Point centre, double radius);

private:
  int width_;
  int height_;
  std::vector<float> alpha_;
};

/** An RGB image, 8 bits per channel, that shapes and masks are painted onto. */
class Canvas {
public:
  /** A width × height canvas filled with `background`. */
  Canvas(int width, int height, Rgb background = kWhite);

  /** Size in pixels. */
  int width() const { return width_; }
  int height() const { return height_; }

  /** The colour at (x, y), which must be inside the canvas. */
  Rgb at(int x, int y) const;

  /** Mixes `colour` into (x, y) with weight `alpha` in [0, 1]; ignored outside the canvas. */
  void blend(int x, int y, Rgb colour, double alpha);

  /**
   * Fills [x0, x1) × [y0, y1). Fractional edges get partial coverage, so a rectangle may sit
   * between pixels; integer edges give crisp lines.
   */
  void fill_rect(double x0, double y0, double x1, double y1, Rgb colour, double alpha = 1.0);

  /** Paints `colour` through `mask` (scaled by `opacity`), its top-left corner at (dx, dy). */
  void paint(const Mask& mask, Rgb colour, double opacity = 1.0, int dx = 0, int dy = 0);

  /** A filled, anti-aliased disc, mixed in with weight `alpha`. */
  void disc(Point centre, double radius, Rgb colour, double alpha = 1.0);

  /** An anti-aliased stroke through `points`; see Mask::polyline for dashes. */
  void polyline(const std::vector<Point>& points, Rgb colour, double width, double dash = 0.0,
                double gap = 0.0);

  /**
   * Restricts all later drawing to [x0, x1) × [y0, y1), e.g. data to the plot area;
   * clear_clip() lifts it.
   */
  void set_clip(int x0, int y0, int x1, int y1);
  /** Lifts the clip rectangle: the whole canvas can be drawn on again. */
  void clear_clip();

  /** Writes the canvas as an 8-bit RGB PNG. Throws kiln::Error naming `path` on failure. */
  void write_png(const std::string& path) const;

private:
  int width_;
  int height_;
  int clip_x0_ = 0, clip_y0_ = 0, clip_x1_, clip_y1_;
  std::vector<uint8_t> rgb_;
};

} // namespace kiln::plot
