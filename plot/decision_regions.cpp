#include "plot/plot.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>

namespace kiln::plot {

namespace {

constexpr int kWidth = 760;
constexpr int kHeight = 640;
constexpr double kRegionTint = 0.3; // how much class colour the light region colours keep

Rgb region_colour(int k) {
  return mix(kWhite, tableau10(k), kRegionTint);
}
Rgb rim_colour(int k) {
  return mix(tableau10(k), kBlack, 0.5);
}

void check_inputs(const data::Box& box, const Eigen::MatrixXi& grid, const MatrixRM& points,
                  const Eigen::VectorXi& labels, int num_classes) {
  if (num_classes < 1)
    throw ShapeError(str("[decision_regions] num_classes must be at least 1, got ", num_classes));
  if (grid.size() == 0)
    throw ShapeError(
        str("[decision_regions] class_grid is empty (", grid.rows(), " x ", grid.cols(), ")"));
  if (!(box.x_lo < box.x_hi) || !(box.y_lo < box.y_hi))
    throw ShapeError(str("[decision_regions] box must have lo < hi on both axes, got [", box.x_lo,
                         ", ", box.x_hi, "] x [", box.y_lo, ", ", box.y_hi, "]"));
  if (points.rows() > 0 && points.cols() != 2)
    throw ShapeError(str("[decision_regions] points must be [n, 2], got [", points.rows(), ", ",
                         points.cols(), "]"));
  if (labels.size() != points.rows())
    throw ShapeError(
        str("[decision_regions] ", points.rows(), " points but ", labels.size(), " labels"));
  for (Eigen::Index i = 0; i < grid.rows(); ++i)
    for (Eigen::Index j = 0; j < grid.cols(); ++j)
      if (grid(i, j) < 0 || grid(i, j) >= num_classes)
        throw ShapeError(str("[decision_regions] class_grid(", i, ", ", j, ") = ", grid(i, j),
                             " is outside [0, ", num_classes, ")"));
  for (Eigen::Index i = 0; i < labels.size(); ++i)
    if (labels(i) < 0 || labels(i) >= num_classes)
      throw ShapeError(str("[decision_regions] labels(", i, ") = ", labels(i), " is outside [0, ",
                           num_classes, ")"));
}

} // namespace

Frame decision_regions(const std::string& path, const std::string& title, const data::Box& box,
                       const Eigen::MatrixXi& class_grid, const MatrixRM& points,
                       const Eigen::VectorXi& labels, int num_classes) {
  check_inputs(box, class_grid, points, labels, num_classes);
  std::vector<LegendEntry> legend;
  for (int k = 0; k < num_classes; ++k)
    legend.push_back({str("class ", k), tableau10(k), LegendKind::Patch, region_colour(k)});

  const Axis x_axis{.lo = box.x_lo, .hi = box.x_hi, .label = "x1", .grid = false};
  const Axis y_axis{.lo = box.y_lo, .hi = box.y_hi, .label = "x2", .grid = false};
  // Equal scale on both axes, within reason for very flat or tall boxes.
  const double aspect = std::clamp((box.y_hi - box.y_lo) / (box.x_hi - box.x_lo), 0.4, 2.5);
  const int legend_width = static_cast<int>(legend_size(legend).x) + 16;
  const auto layout = [&](int height, Axis& x, Axis& y, double a) {
    x = x_axis;
    y = y_axis;
    return place_axes(kWidth, height, title, x, y, legend_width, a);
  };
  // A flat box leaves height unused below the data: trim the image instead of leaving it blank.
  Axis x, y;
  const int unused = layout(kHeight, x, y, 0.0).bottom - layout(kHeight, x, y, aspect).bottom;
  const int height = kHeight - unused;
  const Frame f = layout(height, x, y, aspect);
  Canvas canvas(kWidth, height);

  // The class at a point is the one whose indicator, interpolated bilinearly between the cell
  // centres, is largest: boundaries come out as smooth curves instead of cell-sized steps. Each
  // pixel then averages 3 x 3 such samples, which anti-aliases them.
  const auto rows = static_cast<int>(class_grid.rows()), cols = static_cast<int>(class_grid.cols());
  std::vector<double> weight(static_cast<size_t>(num_classes));
  const auto class_at = [&](double u, double v) {
    const double gi = std::clamp(v * rows - 0.5, 0.0, rows - 1.0);
    const double gj = std::clamp(u * cols - 0.5, 0.0, cols - 1.0);
    const int i0 = static_cast<int>(gi), j0 = static_cast<int>(gj);
    const int i1 = std::min(i0 + 1, rows - 1), j1 = std::min(j0 + 1, cols - 1);
    const double a = gi - i0, b = gj - j0;
    std::fill(weight.begin(), weight.end(), 0.0);
    weight[static_cast<size_t>(class_grid(i0, j0))] += (1 - a) * (1 - b);
    weight[static_cast<size_t>(class_grid(i0, j1))] += (1 - a) * b;
    weight[static_cast<size_t>(class_grid(i1, j0))] += a * (1 - b);
    weight[static_cast<size_t>(class_grid(i1, j1))] += a * b;
    return static_cast<int>(std::max_element(weight.begin(), weight.end()) - weight.begin());
  };
  std::vector<Rgb> tint;
  for (int k = 0; k < num_classes; ++k)
    tint.push_back(region_colour(k));
  for (int py = f.top; py < f.bottom; ++py)
    for (int px = f.left; px < f.right; ++px) {
      int r = 0, g = 0, b = 0;
      for (int sy = 0; sy < 3; ++sy)
        for (int sx = 0; sx < 3; ++sx) {
          const double u = (px + (sx + 0.5) / 3.0 - f.left) / (f.right - f.left);
          const double v = (py + (sy + 0.5) / 3.0 - f.top) / (f.bottom - f.top);
          const Rgb c = tint[static_cast<size_t>(class_at(u, v))];
          r += c.r;
          g += c.g;
          b += c.b;
        }
      canvas.fill_rect(px, py, px + 1, py + 1,
                       Rgb{static_cast<uint8_t>((r + 4) / 9), static_cast<uint8_t>((g + 4) / 9),
                           static_cast<uint8_t>((b + 4) / 9)});
    }

  canvas.set_clip(f.left, f.top, f.right, f.bottom);
  for (Eigen::Index i = 0; i < points.rows(); ++i) {
    const Point p = f.to_pixel(points(i, 0), points(i, 1));
    canvas.disc(p, 4.2, rim_colour(labels(i)), 0.9);
    canvas.disc(p, 3.2, tableau10(labels(i)));
  }
  canvas.clear_clip();
  draw_axes(canvas, f, x, y, title);
  draw_legend_at(canvas, f.right + 16, f.top, legend);
  canvas.write_png(path);
  return f;
}

} // namespace kiln::plot
