#include "plot/plot.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::plot {

namespace {

constexpr int kWidth = 800;
constexpr int kHeight = 560;
constexpr Rgb kTruth{64, 64, 64};

void check_pair(const char* a, const Eigen::VectorXd& va, const char* b,
                const Eigen::VectorXd& vb) {
  if (va.size() != vb.size())
    throw ShapeError(
        str("[prediction_1d] ", a, " has ", va.size(), " values but ", b, " has ", vb.size()));
}

} // namespace

Frame prediction_1d(const std::string& path, const std::string& title,
                    const Eigen::VectorXd& data_x, const Eigen::VectorXd& data_y,
                    const Eigen::VectorXd& grid_x, const Eigen::VectorXd& truth_y,
                    const Eigen::VectorXd& prediction_y) {
  check_pair("data_x", data_x, "data_y", data_y);
  check_pair("grid_x", grid_x, "prediction_y", prediction_y);
  if (truth_y.size() != 0)
    check_pair("grid_x", grid_x, "truth_y", truth_y);

  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  const auto extend = [&](const Eigen::VectorXd& xs, const Eigen::VectorXd& ys) {
    for (Eigen::Index i = 0; i < xs.size(); ++i)
      if (std::isfinite(xs(i)) && std::isfinite(ys(i))) {
        x_lo = std::min(x_lo, xs(i));
        x_hi = std::max(x_hi, xs(i));
        y_lo = std::min(y_lo, ys(i));
        y_hi = std::max(y_hi, ys(i));
      }
  };
  extend(data_x, data_y);
  extend(grid_x, prediction_y);
  if (truth_y.size() != 0)
    extend(grid_x, truth_y);
  if (x_lo > x_hi)
    throw ShapeError("[prediction_1d] nothing to draw: no finite point");

  Canvas canvas(kWidth, kHeight);
  Axis x{.lo = x_lo, .hi = x_hi, .label = "x"};
  Axis y{.lo = y_lo, .hi = y_hi, .label = "y"};
  pad_range(x.lo, x.hi, false, 0.03);
  pad_range(y.lo, y.hi, false, 0.06);
  const Frame f = place_axes(kWidth, kHeight, title, x, y);
  draw_grid(canvas, f, x, y);

  canvas.set_clip(f.left, f.top, f.right, f.bottom);
  std::vector<Point> drawn;
  const Rgb dots = tableau10(0), prediction = tableau10(1);
  for (Eigen::Index i = 0; i < data_x.size(); ++i)
    if (std::isfinite(data_x(i)) && std::isfinite(data_y(i))) {
      drawn.push_back(f.to_pixel(data_x(i), data_y(i)));
      canvas.disc(drawn.back(), 2.8, dots, 0.45);
    }
  const auto curve = [&](const Eigen::VectorXd& ys) {
    std::vector<Point> line;
    for (Eigen::Index i = 0; i < grid_x.size(); ++i)
      if (std::isfinite(grid_x(i)) && std::isfinite(ys(i)))
        line.push_back(f.to_pixel(grid_x(i), ys(i)));
    drawn.insert(drawn.end(), line.begin(), line.end());
    return line;
  };
  std::vector<LegendEntry> legend;
  if (data_x.size() != 0)
    legend.push_back({"data", dots, LegendKind::Marker});
  if (truth_y.size() != 0)
    legend.push_back({"truth", kTruth, LegendKind::Dashed});
  if (grid_x.size() != 0)
    legend.push_back({"prediction", prediction, LegendKind::Line});
  // The dashed truth goes on top: a good fit hides a solid line but not the dashes.
  if (grid_x.size() != 0)
    canvas.polyline(curve(prediction_y), prediction, 2.6);
  if (truth_y.size() != 0)
    canvas.polyline(curve(truth_y), kTruth, 2.0, 7.0, 5.0);
  canvas.clear_clip();
  draw_axes(canvas, f, x, y, title);
  draw_legend(canvas, f, legend, drawn);
  canvas.write_png(path);
  return f;
}

} // namespace kiln::plot
