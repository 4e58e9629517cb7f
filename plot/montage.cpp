#include "plot/plot.h"

#include "plot/font.h"
#include "plot/ticks.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>

namespace kiln::plot {

namespace {

constexpr int kMargin = 24;
constexpr int kTitleHeight = 40; // the figure's title
constexpr int kPanelTitle = 24;  // a panel's title above its grid
constexpr int kBarGap = 10;      // grid to colour bar
constexpr int kBarWidth = 12;
constexpr int kBarLabels = 52;       // room for the colour bar's numbers
constexpr int kMaxPanelPixels = 360; // a panel's grid fits in this square
constexpr Rgb kFrameInk{89, 89, 89};

/** One panel, measured: its images' size, its grid and the screen pixels per image pixel. */
struct Layout {
  int64_t rows = 0, cols = 0, grid_rows = 0, grid_cols = 0;
  int scale = 1, width = 0, height = 0;
  double lo = 0, hi = 0;
};

Layout measure(const MontagePanel& p, size_t index) {
  if (p.images.empty())
    throw ShapeError(str("[montage] panel ", index, " ('", p.title, "') has no images"));
  Layout l;
  l.rows = p.images[0].rows();
  l.cols = p.images[0].cols();
  l.lo = std::numeric_limits<double>::infinity();
  l.hi = -l.lo;
  for (size_t i = 0; i < p.images.size(); ++i) {
    const Eigen::MatrixXd& m = p.images[i];
    if (m.rows() != l.rows || m.cols() != l.cols || m.size() == 0)
      throw ShapeError(str("[montage] panel ", index, " ('", p.title, "'): image ", i, " is ",
                           m.rows(), " x ", m.cols(), ", image 0 is ", l.rows, " x ", l.cols));
    if (!m.allFinite())
      throw ShapeError(str("[montage] panel ", index, " ('", p.title, "'): image ", i,
                           " has a value that is not finite"));
    l.lo = std::min(l.lo, m.minCoeff());
    l.hi = std::max(l.hi, m.maxCoeff());
  }
  const auto n = static_cast<int64_t>(p.images.size());
  l.grid_cols = p.columns > 0 ? p.columns
                              : static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  l.grid_rows = (n + l.grid_cols - 1) / l.grid_cols;
  // Square screen pixels per image pixel, as large as fits (at least 1); one-pixel gaps.
  const int64_t span = std::max(l.grid_cols * l.cols, l.grid_rows * l.rows);
  l.scale = static_cast<int>(std::max<int64_t>(1, kMaxPanelPixels / std::max<int64_t>(span, 1)));
  l.width = static_cast<int>(l.grid_cols * (l.cols * l.scale + 1) - 1);
  l.height = static_cast<int>(l.grid_rows * (l.rows * l.scale + 1) - 1);
  return l;
}

double unit(const Layout& l, double v) {
  return l.hi > l.lo ? (v - l.lo) / (l.hi - l.lo) : 0.5;
}

void draw_bar(Canvas& canvas, int x0, int top, int bottom, const Layout& l) {
  const int x1 = x0 + kBarWidth;
  for (int y = top; y < bottom; ++y)
    canvas.fill_rect(x0, y, x1, y + 1, viridis((bottom - y - 0.5) / (bottom - top)));
  canvas.fill_rect(x0 - 1, top - 1, x1 + 1, top, kFrameInk);
  canvas.fill_rect(x0 - 1, bottom, x1 + 1, bottom + 1, kFrameInk);
  canvas.fill_rect(x0 - 1, top - 1, x0, bottom + 1, kFrameInk);
  canvas.fill_rect(x1, top - 1, x1 + 1, bottom + 1, kFrameInk);
  const Ticks t = l.hi > l.lo ? linear_ticks(l.lo, l.hi, 5) : Ticks{{l.lo}, {format_value(l.lo)}};
  for (size_t i = 0; i < t.values.size(); ++i) {
    const double y = bottom - unit(l, t.values[i]) * (bottom - top);
    const int r = static_cast<int>(std::floor(y));
    canvas.fill_rect(x1 + 1, r, x1 + 4, r + 1, kFrameInk);
    draw_text(canvas, x1 + 6, r + 0.5, t.labels[i], kInk, 1, Align::Start, Align::Centre);
  }
}

} // namespace

std::vector<MontageGrid> montage(const std::string& path, const std::string& title,
                                 const std::vector<MontagePanel>& panels) {
  if (panels.empty())
    throw ShapeError("[montage] needs at least one panel");
  std::vector<Layout> layouts;
  int width = kMargin, height = 0;
  for (size_t i = 0; i < panels.size(); ++i) {
    layouts.push_back(measure(panels[i], i));
    const Layout& l = layouts.back();
    width += std::max(l.width, text_width(panels[i].title, 1)) + kBarGap + kBarWidth + kBarLabels;
    height = std::max(height, l.height);
  }
  width = std::max(width + kMargin, text_width(title, 2) + 2 * kMargin);
  Canvas canvas(width, kTitleHeight + kPanelTitle + height + kMargin);
  draw_text(canvas, width / 2.0, 14, title, kInk, 2, Align::Centre, Align::Start);
  int x = kMargin;
  const int top = kTitleHeight + kPanelTitle;
  std::vector<MontageGrid> grids;
  for (size_t p = 0; p < panels.size(); ++p) {
    const Layout& l = layouts[p];
    const int panel_width = std::max(l.width, text_width(panels[p].title, 1));
    draw_text(canvas, x + panel_width / 2.0, kTitleHeight + 4, panels[p].title, kInk, 1,
              Align::Centre, Align::Start);
    // The grid's background is black: the gaps between images and the empty cells show it.
    canvas.fill_rect(x, top, x + l.width, top + l.height, kBlack);
    grids.push_back({x, top, l.scale, static_cast<int>(l.grid_cols)});
    for (size_t k = 0; k < panels[p].images.size(); ++k) {
      const Eigen::MatrixXd& m = panels[p].images[k];
      const auto gi = static_cast<int64_t>(k) / l.grid_cols,
                 gj = static_cast<int64_t>(k) % l.grid_cols;
      const int x0 = x + static_cast<int>(gj * (l.cols * l.scale + 1));
      const int y0 = top + static_cast<int>(gi * (l.rows * l.scale + 1));
      for (Eigen::Index i = 0; i < m.rows(); ++i)
        for (Eigen::Index j = 0; j < m.cols(); ++j)
          canvas.fill_rect(x0 + static_cast<int>(j) * l.scale, y0 + static_cast<int>(i) * l.scale,
                           x0 + static_cast<int>(j + 1) * l.scale,
                           y0 + static_cast<int>(i + 1) * l.scale, viridis(unit(l, m(i, j))));
    }
    draw_bar(canvas, x + l.width + kBarGap, top, top + l.height, l);
    x += panel_width + kBarGap + kBarWidth + kBarLabels;
  }
  canvas.write_png(path);
  return grids;
}

} // namespace kiln::plot
