#include "plot/canvas.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>

namespace kiln::plot {

namespace {

// Distance from p to the segment [a, b].
double segment_distance(Point p, Point a, Point b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0.0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// Coverage of a pixel whose centre is `d` from the edge of a shape reaching `extent` from its
// skeleton: a one-pixel ramp across the edge, which reads as a box-filtered edge.
float edge_coverage(double extent, double d) {
  return static_cast<float>(std::clamp(extent + 0.5 - d, 0.0, 1.0));
}

uint8_t over(uint8_t dst, uint8_t src, double a) {
  return static_cast<uint8_t>(std::lround(dst + (src - dst) * a));
}

} // namespace

Mask::Mask(int width, int height)
    : width_(std::max(width, 0)), height_(std::max(height, 0)),
      alpha_(static_cast<size_t>(width_) * static_cast<size_t>(height_), 0.0f) {}

float Mask::at(int x, int y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_)
    return 0.0f;
  return alpha_[static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)];
}

void Mask::cover(int x, int y, float alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_)
    return;
  float& a = alpha_[static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)];
  a = std::max(a, std::min(alpha, 1.0f));
}

void Mask::line(Point a, Point b, double width) {
  const double r = width / 2.0;
  const int x0 = static_cast<int>(std::floor(std::min(a.x, b.x) - r - 1.0));
  const int x1 = static_cast<int>(std::ceil(std::max(a.x, b.x) + r + 1.0));
  const int y0 = static_cast<int>(std::floor(std::min(a.y, b.y) - r - 1.0));
  const int y1 = static_cast<int>(std::ceil(std::max(a.y, b.y) + r + 1.0));
  for (int y = std::max(y0, 0); y <= std::min(y1, height_ - 1); ++y)
    for (int x = std::max(x0, 0); x <= std::min(x1, width_ - 1); ++x) {
      const float c = edge_coverage(r, segment_distance({x + 0.5, y + 0.5}, a, b));
      if (c > 0.0f)
        cover(x, y, c);
    }
}

void Mask::polyline(const std::vector<Point>& points, double width, double dash, double gap) {
  if (points.size() == 1)
    disc(points[0], width / 2.0);
  if (dash <= 0.0) {
    for (size_t i = 1; i < points.size(); ++i)
      line(points[i - 1], points[i], width);
    return;
  }
  // Walk along the line keeping the phase within one dash + gap period.
  const double period = dash + std::max(gap, 0.0);
  double phase = 0.0;
  for (size_t i = 1; i < points.size(); ++i) {
    const Point a = points[i - 1], b = points[i];
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    double s = 0.0;
    while (s < len) {
      const bool on = phase < dash;
      const double step = std::min(len - s, on ? dash - phase : period - phase);
      if (on) {
        const auto at = [&](double u) {
          return Point{a.x + (b.x - a.x) * u / len, a.y + (b.y - a.y) * u / len};
        };
        line(at(s), at(s + step), width);
      }
      s += step;
      phase += step;
      if (phase >= period - 1e-9)
        phase = 0.0;
    }
  }
}

void Mask::disc(Point centre, double radius) {
  const int x0 = static_cast<int>(std::floor(centre.x - radius - 1.0));
  const int x1 = static_cast<int>(std::ceil(centre.x + radius + 1.0));
  const int y0 = static_cast<int>(std::floor(centre.y - radius - 1.0));
  const int y1 = static_cast<int>(std::ceil(centre.y + radius + 1.0));
  for (int y = std::max(y0, 0); y <= std::min(y1, height_ - 1); ++y)
    for (int x = std::max(x0, 0); x <= std::min(x1, width_ - 1); ++x) {
      const double d = std::hypot(x + 0.5 - centre.x, y + 0.5 - centre.y);
      const float c = edge_coverage(radius, d);
      if (c > 0.0f)
        cover(x, y, c);
    }
}

Canvas::Canvas(int width, int height, Rgb background)
    : width_(width), height_(height), clip_x1_(width), clip_y1_(height) {
  KILN_ASSERT(width > 0 && height > 0, "canvas size ", width, " x ", height);
  rgb_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Rgb Canvas::at(int x, int y) const {
  KILN_ASSERT(x >= 0 && y >= 0 && x < width_ && y < height_, "pixel ", x, ", ", y);
  const size_t i =
      (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::blend(int x, int y, Rgb colour, double alpha) {
  if (x < clip_x0_ || y < clip_y0_ || x >= clip_x1_ || y >= clip_y1_ || alpha <= 0.0)
    return;
  alpha = std::min(alpha, 1.0);
  const size_t i =
      (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  rgb_[i] = over(rgb_[i], colour.r, alpha);
  rgb_[i + 1] = over(rgb_[i + 1], colour.g, alpha);
  rgb_[i + 2] = over(rgb_[i + 2], colour.b, alpha);
}

void Canvas::set_clip(int x0, int y0, int x1, int y1) {
  clip_x0_ = std::max(x0, 0);
  clip_y0_ = std::max(y0, 0);
  clip_x1_ = std::min(x1, width_);
  clip_y1_ = std::min(y1, height_);
}

void Canvas::clear_clip() {
  set_clip(0, 0, width_, height_);
}

void Canvas::fill_rect(double x0, double y0, double x1, double y1, Rgb colour, double alpha) {
  if (x1 < x0)
    std::swap(x0, x1);
  if (y1 < y0)
    std::swap(y0, y1);
  const int xa = std::max(static_cast<int>(std::floor(x0)), 0);
  const int xb = std::min(static_cast<int>(std::ceil(x1)), width_);
  const int ya = std::max(static_cast<int>(std::floor(y0)), 0);
  const int yb = std::min(static_cast<int>(std::ceil(y1)), height_);
  for (int y = ya; y < yb; ++y) {
    const double cy = std::min(y + 1.0, y1) - std::max(double(y), y0);
    for (int x = xa; x < xb; ++x) {
      const double cx = std::min(x + 1.0, x1) - std::max(double(x), x0);
      blend(x, y, colour, alpha * cx * cy);
    }
  }
}

void Canvas::paint(const Mask& mask, Rgb colour, double opacity, int dx, int dy) {
  for (int y = 0; y < mask.height(); ++y)
    for (int x = 0; x < mask.width(); ++x) {
      const float a = mask.at(x, y);
      if (a > 0.0f)
        blend(x + dx, y + dy, colour, a * opacity);
    }
}

void Canvas::disc(Point centre, double radius, Rgb colour, double alpha) {
  // A small mask around the disc keeps many scatter markers cheap.
  const int x0 = static_cast<int>(std::floor(centre.x - radius - 1.0));
  const int y0 = static_cast<int>(std::floor(centre.y - radius - 1.0));
  const int size = static_cast<int>(std::ceil(2.0 * radius + 3.0));
  Mask m(size, size);
  m.disc({centre.x - x0, centre.y - y0}, radius);
  paint(m, colour, alpha, x0, y0);
}

void Canvas::polyline(const std::vector<Point>& points, Rgb colour, double width, double dash,
                      double gap) {
  Mask m(width_, height_);
  m.polyline(points, width, dash, gap);
  paint(m, colour);
}

} // namespace kiln::plot
