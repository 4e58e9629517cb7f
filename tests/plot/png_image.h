#pragma once
// A PNG read back with stb_image, so the tests check the file that was written, not kiln's canvas.

#include "plot/colour.h"

#include <string>
#include <vector>

namespace kiln::test {

struct PngImage {
  int width = 0;
  int height = 0;
  std::vector<unsigned char> rgb;

  /** The pixel at (x, y); throws when it is outside the image. */
  plot::Rgb at(int x, int y) const;
  plot::Rgb at(double x, double y) const { return at(static_cast<int>(x), static_cast<int>(y)); }
};

/** Decodes the PNG at `path` as RGB; throws when it cannot be read. */
PngImage load_png(const std::string& path);

/** True when every channel of a and b differs by at most `tolerance`. */
bool near(plot::Rgb a, plot::Rgb b, int tolerance);

/** True when some pixel within `radius` of (x, y) is near `colour`. */
bool colour_near(const PngImage& image, double x, double y, plot::Rgb colour, int tolerance,
                 int radius = 1);

/** Number of pixels in [x0, x1) × [y0, y1) darker than `max_luminance` (ink of text). */
int dark_pixels(const PngImage& image, int x0, int y0, int x1, int y1, double max_luminance = 0.3);

} // namespace kiln::test
