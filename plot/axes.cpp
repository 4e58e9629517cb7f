#include "plot/axes.h"

#include "plot/font.h"

#include <algorithm>
#include <cmath>

namespace kiln::plot {

namespace {

constexpr int kPad = 16;           // outer margin of the image
constexpr int kTick = 5;           // tick mark length, outside the frame
constexpr int kTickGap = 5;        // tick mark to tick label
constexpr int kLabelGap = 12;      // tick labels to axis label
constexpr int kTitleGap = 16;      // title baseline to the top of the frame
constexpr int kDescent = 3;        // descenders below the cap box at scale 1
constexpr int kMinLabelSpace = 18; // free pixels between neighbouring x tick labels
constexpr Rgb kFrame{89, 89, 89};
constexpr Rgb kMinorGrid{242, 242, 242};
constexpr Rgb kLegendBorder{204, 204, 204};

double axis_pos(double v, bool log) {
  return log ? std::log10(v) : v;
}

bool all_integers(const Ticks& t) {
  return std::all_of(t.values.begin(), t.values.end(),
                     [](double v) { return std::abs(v - std::round(v)) < 1e-9; });
}

Ticks choose_ticks(const Axis& a, int max_ticks) {
  if (a.log)
    return log_ticks(a.lo, a.hi, max_ticks);
  for (int m = max_ticks; m >= 2; --m) {
    Ticks t = linear_ticks(a.lo, a.hi, m);
    if (!a.integer_ticks || all_integers(t))
      return t;
  }
  Ticks t; // a span under one: the integers inside, if any
  for (double v = std::ceil(a.lo); v <= a.hi; v += 1.0) {
    t.values.push_back(v);
    t.labels.push_back(format_tick(v, 1.0));
  }
  return t;
}

int widest(const Ticks& t) {
  int w = 0;
  for (const std::string& s : t.labels)
    w = std::max(w, text_width(s, 1));
  return w;
}

// True when centred labels at their pixel positions keep kMinLabelSpace apart.
bool labels_fit(const Ticks& t, const Frame& f) {
  for (size_t i = 1; i < t.values.size(); ++i) {
    const double gap = f.px(t.values[i]) - f.px(t.values[i - 1]);
    const double half = (text_width(t.labels[i], 1) + text_width(t.labels[i - 1], 1)) / 2.0;
    if (gap - half < kMinLabelSpace)
      return false;
  }
  return true;
}

int crisp(double v) {
  return static_cast<int>(std::floor(v));
}

} // namespace

double Frame::px(double x) const {
  return left + (x - x_min) / (x_max - x_min) * (right - left);
}

double Frame::py(double y) const {
  const double t =
      log_y ? (std::log10(y) - std::log10(y_min)) / (std::log10(y_max) - std::log10(y_min))
            : (y - y_min) / (y_max - y_min);
  return bottom - t * (bottom - top);
}

void pad_range(double& lo, double& hi, bool log, double pad) {
  double a = axis_pos(lo, log), b = axis_pos(hi, log);
  if (!(b - a > 1e-12 * std::max(std::abs(a), std::abs(b)))) {
    const double open = log ? 0.5 : (a != 0.0 ? std::abs(a) * 0.1 : 1.0);
    a -= open;
    b += open;
  } else {
    const double span = b - a;
    a -= pad * span;
    b += pad * span;
  }
  lo = log ? std::pow(10.0, a) : a;
  hi = log ? std::pow(10.0, b) : b;
}

Frame place_axes(int width, int height, const std::string& title, Axis& x, Axis& y,
                 int reserve_right, double aspect) {
  Frame f;
  f.x_min = x.lo;
  f.x_max = x.hi;
  f.y_min = y.lo;
  f.y_max = y.hi;
  f.log_y = y.log;
  // Half a tick label sticks out above the top tick.
  f.top = kPad + (title.empty() ? kCapHeight / 2 : 2 * kCapHeight + kTitleGap);
  const int below = kTick + kTickGap + kCapHeight + kDescent +
                    (x.label.empty() ? 0 : kLabelGap + kCapHeight + kDescent) + kPad;
  f.bottom = height - below;
  if (y.ticks.values.empty())
    y.ticks = choose_ticks(y, std::clamp((f.bottom - f.top) / 45, 3, 10));
  f.left = kPad + (y.label.empty() ? 0 : kCapHeight + kDescent + kLabelGap) + widest(y.ticks) +
           kTickGap + kTick;
  f.right = width - kPad - reserve_right;
  if (aspect > 0.0) {
    const int w = f.right - f.left, h = f.bottom - f.top;
    const int fit_w = std::min(w, static_cast<int>(std::lround(h / aspect)));
    const int fit_h = std::min(h, static_cast<int>(std::lround(fit_w * aspect)));
    f.left += (w - fit_w) / 2;
    f.right = f.left + fit_w;
    f.bottom = f.top + fit_h; // keep the title close: spare height goes to the bottom
  }
  if (x.ticks.values.empty()) {
    for (int m = 12; m >= 2; --m) {
      x.ticks = choose_ticks(x, m);
      if (labels_fit(x.ticks, f))
        break;
    }
  }
  // Keep the last x tick label inside the image.
  if (!x.ticks.values.empty() && aspect <= 0.0) {
    const double overflow = f.px(x.ticks.values.back()) +
                            text_width(x.ticks.labels.back(), 1) / 2.0 -
                            (width - kPad / 2 - reserve_right);
    if (overflow > 0)
      f.right -= static_cast<int>(std::ceil(overflow));
  }
  return f;
}

void draw_grid(Canvas& canvas, const Frame& f, const Axis& x, const Axis& y) {
  if (y.grid && y.log)
    for (double v : log_minor_ticks(std::min(y.lo, y.hi), std::max(y.lo, y.hi)))
      canvas.fill_rect(f.left, crisp(f.py(v)), f.right, crisp(f.py(v)) + 1, kMinorGrid);
  if (x.grid)
    for (double v : x.ticks.values)
      canvas.fill_rect(crisp(f.px(v)), f.top, crisp(f.px(v)) + 1, f.bottom, kGrid);
  if (y.grid)
    for (double v : y.ticks.values)
      canvas.fill_rect(f.left, crisp(f.py(v)), f.right, crisp(f.py(v)) + 1, kGrid);
}

void draw_axes(Canvas& canvas, const Frame& f, const Axis& x, const Axis& y,
               const std::string& title) {
  canvas.clear_clip();
  // The frame sits just outside the data area.
  canvas.fill_rect(f.left - 1, f.top - 1, f.right + 1, f.top, kFrame);
  canvas.fill_rect(f.left - 1, f.bottom, f.right + 1, f.bottom + 1, kFrame);
  canvas.fill_rect(f.left - 1, f.top - 1, f.left, f.bottom + 1, kFrame);
  canvas.fill_rect(f.right, f.top - 1, f.right + 1, f.bottom + 1, kFrame);
  for (size_t i = 0; i < x.ticks.values.size(); ++i) {
    const int c = crisp(f.px(x.ticks.values[i]));
    canvas.fill_rect(c, f.bottom + 1, c + 1, f.bottom + 1 + kTick, kFrame);
    draw_text(canvas, c + 0.5, f.bottom + 1 + kTick + kTickGap, x.ticks.labels[i], kInk, 1,
              Align::Centre, Align::Start);
  }
  for (size_t i = 0; i < y.ticks.values.size(); ++i) {
    const int r = crisp(f.py(y.ticks.values[i]));
    canvas.fill_rect(f.left - 1 - kTick, r, f.left - 1, r + 1, kFrame);
    draw_text(canvas, f.left - 1 - kTick - kTickGap, r + 0.5, y.ticks.labels[i], kInk, 1,
              Align::End, Align::Centre);
  }
  const double mid_x = (f.left + f.right) / 2.0;
  if (!x.label.empty())
    draw_text(canvas, mid_x, f.bottom + 1 + kTick + kTickGap + kCapHeight + kDescent + kLabelGap,
              x.label, kInk, 1, Align::Centre, Align::Start);
  if (!y.label.empty()) {
    // Beside the tick labels, also when the data area is narrowed and centred.
    const int x_label =
        f.left - 1 - kTick - kTickGap - widest(y.ticks) - kLabelGap - kDescent - kCapHeight;
    draw_text_vertical(canvas, x_label, (f.top + f.bottom) / 2.0, y.label, kInk, 1, Align::Centre,
                       Align::Start);
  }
  if (!title.empty()) {
    // Centred over the data, but kept inside the image when it is long.
    const int w = text_width(title, 2);
    const double left = std::clamp(mid_x - w / 2.0, 1.0 * kPad,
                                   std::max(1.0 * kPad, canvas.width() - kPad - 1.0 * w));
    draw_text(canvas, left, kPad, title, kInk, 2, Align::Start, Align::Start);
  }
}

namespace {

constexpr int kLegendPad = 7;
constexpr int kLegendRow = 18;
constexpr int kSample = 26;

} // namespace

Point legend_size(const std::vector<LegendEntry>& entries) {
  int text = 0;
  for (const LegendEntry& e : entries)
    text = std::max(text, text_width(e.name, 1));
  return {static_cast<double>(2 * kLegendPad + kSample + 8 + text + 3),
          static_cast<double>(2 * kLegendPad + kLegendRow * static_cast<int>(entries.size()) - 4)};
}

void draw_legend_at(Canvas& canvas, int x, int y, const std::vector<LegendEntry>& entries) {
  if (entries.empty())
    return;
  const Point size = legend_size(entries);
  const int w = static_cast<int>(size.x), h = static_cast<int>(size.y);
  canvas.fill_rect(x, y, x + w, y + h, kWhite, 0.9);
  canvas.fill_rect(x, y, x + w, y + 1, kLegendBorder);
  canvas.fill_rect(x, y + h - 1, x + w, y + h, kLegendBorder);
  canvas.fill_rect(x, y, x + 1, y + h, kLegendBorder);
  canvas.fill_rect(x + w - 1, y, x + w, y + h, kLegendBorder);
  for (size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    const double cy = y + kLegendPad + kLegendRow * static_cast<double>(i) + 7.0;
    const double sx = x + kLegendPad, mid = sx + kSample / 2.0;
    switch (e.kind) {
    case LegendKind::Line:
      canvas.polyline({{sx, cy}, {sx + kSample, cy}}, e.colour, 2.5);
      break;
    case LegendKind::Dashed:
      canvas.polyline({{sx, cy}, {sx + kSample, cy}}, e.colour, 2.0, 6.0, 4.0);
      break;
    case LegendKind::Marker:
      canvas.disc({mid, cy}, 4.0, e.colour);
      break;
    case LegendKind::Patch:
      canvas.fill_rect(mid - 8, cy - 7, mid + 8, cy + 7, e.fill);
      canvas.disc({mid, cy}, 4.0, e.colour);
      break;
    }
    draw_text(canvas, sx + kSample + 8, cy, e.name, kInk, 1, Align::Start, Align::Centre);
  }
}

void draw_legend(Canvas& canvas, const Frame& f, const std::vector<LegendEntry>& entries,
                 const std::vector<Point>& avoid) {
  if (entries.empty())
    return;
  const Point size = legend_size(entries);
  constexpr int kInset = 10;
  const int xl = f.left + kInset, xr = f.right - kInset - static_cast<int>(size.x);
  const int yt = f.top + kInset, yb = f.bottom - kInset - static_cast<int>(size.y);
  // matplotlib's order of preference when corners tie.
  const int corners[4][2] = {{xr, yt}, {xl, yt}, {xl, yb}, {xr, yb}};
  int best = 0;
  size_t best_hidden = SIZE_MAX;
  for (int c = 0; c < 4; ++c) {
    size_t hidden = 0;
    for (const Point& p : avoid)
      hidden += p.x >= corners[c][0] - 4 && p.x <= corners[c][0] + size.x + 4 &&
                p.y >= corners[c][1] - 4 && p.y <= corners[c][1] + size.y + 4;
    if (hidden < best_hidden) {
      best_hidden = hidden;
      best = c;
    }
  }
  draw_legend_at(canvas, corners[best][0], corners[best][1], entries);
}

} // namespace kiln::plot
