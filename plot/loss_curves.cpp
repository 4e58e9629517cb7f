#include "plot/plot.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::plot {

namespace {

constexpr int kWidth = 800;
constexpr int kHeight = 560;
constexpr size_t kMaxMarkedPoints = 40;

struct Extent {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
  bool integer_x = true;
  void add(double x, double y) {
    x_lo = std::min(x_lo, x);
    x_hi = std::max(x_hi, x);
    y_lo = std::min(y_lo, y);
    y_hi = std::max(y_hi, y);
    integer_x = integer_x && x == std::round(x);
  }
  bool empty() const { return x_lo > x_hi; }
};

} // namespace

Frame loss_curves(const std::string& path, const std::string& title,
                  const std::vector<Series>& series, bool log_y) {
  if (series.empty())
    throw ShapeError("[loss_curves] no series to plot");
  const auto drawable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0.0);
  };
  Extent e;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size())
      throw ShapeError(str("[loss_curves] series '", s.name, "' has ", s.x.size(), " x values but ",
                           s.y.size(), " y values"));
    for (size_t i = 0; i < s.x.size(); ++i)
      if (drawable(s.x[i], s.y[i]))
        e.add(s.x[i], s.y[i]);
  }
  if (e.empty())
    throw ShapeError(log_y ? "[loss_curves] nothing to draw: no series has a finite point with "
                             "y > 0 for the log scale"
                           : "[loss_curves] nothing to draw: no series has a finite point");

  Canvas canvas(kWidth, kHeight);
  Axis x{.lo = e.x_lo, .hi = e.x_hi, .label = "epoch", .integer_ticks = e.integer_x};
  Axis y{.lo = e.y_lo, .hi = e.y_hi, .log = log_y, .label = "loss"};
  pad_range(x.lo, x.hi, false, 0.03);
  pad_range(y.lo, y.hi, log_y, 0.05);
  const Frame f = place_axes(kWidth, kHeight, title, x, y);
  draw_grid(canvas, f, x, y);

  canvas.set_clip(f.left, f.top, f.right, f.bottom);
  std::vector<Point> drawn;
  std::vector<LegendEntry> legend;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const Rgb colour = tableau10(static_cast<int>(k));
    // A point that cannot be drawn (NaN, or <= 0 on a log axis) ends the current run.
    std::vector<Point> run;
    const auto flush = [&] {
      if (!run.empty())
        canvas.polyline(run, colour, 2.2);
      run.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!drawable(s.x[i], s.y[i])) {
        flush();
        continue;
      }
      run.push_back(f.to_pixel(s.x[i], s.y[i]));
      drawn.push_back(run.back());
      if (run.size() > 1) { // midpoints too, so the legend avoids long segments
        const Point a = run[run.size() - 2], b = run.back();
        drawn.push_back({(a.x + b.x) / 2, (a.y + b.y) / 2});
      }
    }
    flush();
    if (s.x.size() <= kMaxMarkedPoints)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (drawable(s.x[i], s.y[i]))
          canvas.disc(f.to_pixel(s.x[i], s.y[i]), 3.2, colour);
    if (!s.name.empty())
      legend.push_back({s.name, colour, LegendKind::Line});
  }
  canvas.clear_clip();
  draw_axes(canvas, f, x, y, title);
  draw_legend(canvas, f, legend, drawn);
  canvas.write_png(path);
  return f;
}

} // namespace kiln::plot
