#include "plot/plot.h"

#include "plot/font.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kiln::plot {

namespace {

constexpr int kWidth = 760;
constexpr int kHeight = 560;
constexpr int kBarGap = 18; // data area to colour bar
constexpr int kBarWidth = 18;
constexpr Rgb kMissing{191, 191, 191};
constexpr Rgb kFrameInk{89, 89, 89};

// Where a value falls on the colour scale, in [0, 1].
struct ColourScale {
  double lo = 0.0, hi = 1.0;
  bool log = false;
  double t(double v) const {
    const double a = log ? std::log10(lo) : lo, b = log ? std::log10(hi) : hi;
    const double x = log ? std::log10(v) : v;
    return b > a ? (x - a) / (b - a) : 0.5;
  }
};

Ticks category_ticks(const std::vector<std::string>& names, Eigen::Index n) {
  Ticks t;
  for (Eigen::Index i = 0; i < n; ++i) {
    t.values.push_back(static_cast<double>(i) + 0.5);
    t.labels.push_back(names.empty() ? str(i) : names[static_cast<size_t>(i)]);
  }
  return t;
}

void draw_colour_bar(Canvas& canvas, const Frame& f, const ColourScale& scale) {
  const int x0 = f.right + kBarGap, x1 = x0 + kBarWidth;
  for (int y = f.top; y < f.bottom; ++y)
    canvas.fill_rect(x0, y, x1, y + 1, viridis((f.bottom - y - 0.5) / (f.bottom - f.top)));
  canvas.fill_rect(x0 - 1, f.top - 1, x1 + 1, f.top, kFrameInk);
  canvas.fill_rect(x0 - 1, f.bottom, x1 + 1, f.bottom + 1, kFrameInk);
  canvas.fill_rect(x0 - 1, f.top - 1, x0, f.bottom + 1, kFrameInk);
  canvas.fill_rect(x1, f.top - 1, x1 + 1, f.bottom + 1, kFrameInk);
  Ticks ticks;
  if (scale.hi > scale.lo)
    ticks = scale.log ? log_ticks(scale.lo, scale.hi, 6) : linear_ticks(scale.lo, scale.hi, 6);
  else
    ticks = {{scale.lo}, {format_value(scale.lo)}};
  for (size_t i = 0; i < ticks.values.size(); ++i) {
    const double y = f.bottom - scale.t(ticks.values[i]) * (f.bottom - f.top);
    const int r = static_cast<int>(std::floor(y));
    canvas.fill_rect(x1 + 1, r, x1 + 5, r + 1, kFrameInk);
    draw_text(canvas, x1 + 8, r + 0.5, ticks.labels[i], kInk, 1, Align::Start, Align::Centre);
  }
}

} // namespace

Frame heatmap(const std::string& path, const std::string& title, const Eigen::MatrixXd& values,
              const std::vector<std::string>& row_labels,
              const std::vector<std::string>& column_labels, const std::string& x_label,
              const std::string& y_label, bool log_colour) {
  const Eigen::Index rows = values.rows(), cols = values.cols();
  if (values.size() == 0)
    throw ShapeError(str("[heatmap] values is empty (", rows, " x ", cols, ")"));
  if (!row_labels.empty() && static_cast<Eigen::Index>(row_labels.size()) != rows)
    throw ShapeError(str("[heatmap] ", row_labels.size(), " row labels for ", rows, " rows"));
  if (!column_labels.empty() && static_cast<Eigen::Index>(column_labels.size()) != cols)
    throw ShapeError(
        str("[heatmap] ", column_labels.size(), " column labels for ", cols, " columns"));
  ColourScale scale{std::numeric_limits<double>::infinity(),
                    -std::numeric_limits<double>::infinity(), log_colour};
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) {
      const double v = values(i, j);
      if (log_colour && v <= 0.0)
        throw ShapeError(
            str("[heatmap] log_colour needs positive values, got values(", i, ", ", j, ") = ", v));
      if (!std::isfinite(v))
        continue;
      scale.lo = std::min(scale.lo, v);
      scale.hi = std::max(scale.hi, v);
    }
  if (scale.lo > scale.hi)
    throw ShapeError("[heatmap] values has no finite entry");

  Canvas canvas(kWidth, kHeight);
  Axis x{.lo = 0.0,
         .hi = static_cast<double>(cols),
         .label = x_label,
         .ticks = category_ticks(column_labels, cols),
         .grid = false};
  Axis y{.lo = static_cast<double>(rows),
         .hi = 0.0,
         .label = y_label,
         .ticks = category_ticks(row_labels, rows),
         .grid = false};
  int bar_labels = 0;
  for (double v : {scale.lo, scale.hi})
    bar_labels = std::max(bar_labels, text_width(format_value(v), 1));
  const Frame f =
      place_axes(kWidth, kHeight, title, x, y, kBarGap + kBarWidth + 8 + bar_labels + 8);

  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) {
      // Whole-pixel cell edges, so neighbouring cells do not bleed into each other.
      const int x0 = static_cast<int>(std::lround(f.px(static_cast<double>(j))));
      const int x1 = static_cast<int>(std::lround(f.px(static_cast<double>(j + 1))));
      const int y0 = static_cast<int>(std::lround(f.py(static_cast<double>(i))));
      const int y1 = static_cast<int>(std::lround(f.py(static_cast<double>(i + 1))));
      const double v = values(i, j);
      const Rgb fill = std::isfinite(v) ? viridis(scale.t(v)) : kMissing;
      canvas.fill_rect(x0, y0, x1, y1, fill);
      const std::string text = format_value(v);
      if (text_width(text, 1) + 8 <= x1 - x0 && y1 - y0 >= 16)
        draw_text(canvas, (x0 + x1) / 2.0, (y0 + y1) / 2.0, text,
                  luminance(fill) < 0.35 ? kWhite : kInk, 1, Align::Centre, Align::Centre);
    }
  // Thin white lines between the cells of a table (an ablation grid); a field sampled on a fine
  // grid (a PDE's solution) is drawn without them, or it would look like a sieve.
  const bool table = f.right - f.left >= 12 * cols && f.bottom - f.top >= 12 * rows;
  for (Eigen::Index j = 1; table && j < cols; ++j) {
    const int c = static_cast<int>(std::lround(f.px(static_cast<double>(j))));
    canvas.fill_rect(c, f.top, c + 1, f.bottom, kWhite);
  }
  for (Eigen::Index i = 1; table && i < rows; ++i) {
    const int r = static_cast<int>(std::lround(f.py(static_cast<double>(i))));
    canvas.fill_rect(f.left, r, f.right, r + 1, kWhite);
  }
  draw_axes(canvas, f, x, y, title);
  draw_colour_bar(canvas, f, scale);
  canvas.write_png(path);
  return f;
}

} // namespace kiln::plot
