#include "png_image.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace kiln::test {

plot::Rgb PngImage::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width || y >= height)
    throw std::out_of_range("pixel " + std::to_string(x) + ", " + std::to_string(y) +
                            " is outside the image");
  const size_t i =
      (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  return {rgb[i], rgb[i + 1], rgb[i + 2]};
}

PngImage load_png(const std::string& path) {
  PngImage image;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &image.width, &image.height, &channels, 3);
  if (data == nullptr)
    throw std::runtime_error("cannot decode " + path + ": " + stbi_failure_reason());
  image.rgb.assign(data,
                   data + static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3);
  stbi_image_free(data);
  return image;
}

bool near(plot::Rgb a, plot::Rgb b, int tolerance) {
  return std::abs(a.r - b.r) <= tolerance && std::abs(a.g - b.g) <= tolerance &&
         std::abs(a.b - b.b) <= tolerance;
}

bool colour_near(const PngImage& image, double x, double y, plot::Rgb colour, int tolerance,
                 int radius) {
  const int cx = static_cast<int>(x), cy = static_cast<int>(y);
  for (int dy = -radius; dy <= radius; ++dy)
    for (int dx = -radius; dx <= radius; ++dx) {
      const int px = cx + dx, py = cy + dy;
      if (px >= 0 && py >= 0 && px < image.width && py < image.height &&
          near(image.at(px, py), colour, tolerance))
        return true;
    }
  return false;
}

int dark_pixels(const PngImage& image, int x0, int y0, int x1, int y1, double max_luminance) {
  int n = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, image.height); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, image.width); ++x)
      n += plot::luminance(image.at(x, y)) < max_luminance;
  return n;
}

} // namespace kiln::test
