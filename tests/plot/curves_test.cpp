// loss_curves and prediction_1d, checked on the decoded PNG.

#include "plot/plot.h"

#include "png_image.h"
#include "tests/support/temp_dir.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace kiln::plot;
using kiln::test::colour_near;
using kiln::test::dark_pixels;
using kiln::test::load_png;
using kiln::test::near;
using kiln::test::PngImage;
using kiln::test::TempDir;

namespace {

// Checks the parts every plot shares: white corners, white inside the frame's margin, and text
// (dark pixels) in the title band exactly when there is a title.
void check_page(const PngImage& img, const Frame& f, bool has_title) {
  for (const auto& [x, y] :
       {std::pair{0, 0}, {img.width - 1, 0}, {0, img.height - 1}, {img.width - 1, img.height - 1}})
    CHECK(img.at(x, y) == kWhite);
  CHECK(f.left > 20);
  CHECK(f.right < img.width - 10);
  CHECK(f.top > 10);
  CHECK(f.bottom < img.height - 30);
  const int mid = (f.left + f.right) / 2;
  const int title_ink = dark_pixels(img, mid - 150, 0, mid + 150, f.top - 4);
  if (has_title)
    CHECK(title_ink > 100);
  else
    CHECK(title_ink == 0);
}

Series curve(const std::string& name, int epochs, double scale, double floor) {
  Series s{name, {}, {}};
  for (int e = 1; e <= epochs; ++e) {
    s.x.push_back(e);
    s.y.push_back(floor + scale * std::exp(-e / 6.0));
  }
  return s;
}

} // namespace

TEST_CASE("loss_curves: each series in its colour along its path", "[plot]") {
  const TempDir dir("plot-loss");
  const std::string path = dir.file("loss.png");
  const Series train = curve("training", 30, 2.0, 0.05), val = curve("validation", 30, 2.0, 0.9);
  const Frame f = loss_curves(path, "Training and validation loss", {train, val}, false);
  const PngImage img = load_png(path);
  REQUIRE(img.width == 800);
  REQUIRE(img.height == 560);
  check_page(img, f, true);
  CHECK(f.x_min < 1.0);
  CHECK(f.x_max > 30.0);
  CHECK(f.y_min < 0.05 + 2.0 * std::exp(-30 / 6.0));
  CHECK(f.y_max > 0.9 + 2.0 * std::exp(-1 / 6.0));
  for (const auto& [s, colour] : {std::pair{&train, tableau10(0)}, {&val, tableau10(1)}})
    for (size_t i = 0; i + 1 < s->x.size(); ++i) {
      INFO(s->name << " point " << i);
      CHECK(colour_near(img, f.px(s->x[i]), f.py(s->y[i]), colour, 12));
      // Between two epochs the line runs through the midpoint.
      CHECK(colour_near(img, f.px(s->x[i] + 0.5), f.py((s->y[i] + s->y[i + 1]) / 2), colour, 40));
    }
  // Away from the data the plot area is white or grid grey.
  const Rgb empty = img.at(f.px(25.0) + 3, f.py(0.5));
  CHECK((empty == kWhite || empty == kGrid));
}

TEST_CASE("loss_curves: a log y axis spaces decades evenly and skips values it cannot show",
          "[plot]") {
  const TempDir dir("plot-loss-log");
  const std::string path = dir.file("loss.png");
  Series s{"loss", {}, {}};
  for (int e = 0; e <= 50; ++e) {
    s.x.push_back(e);
    s.y.push_back(std::pow(10.0, -e / 10.0));
  }
  s.y[20] = 0.0; // a loss of exactly zero has no place on a log axis
  s.y[30] = std::nan("");
  const Frame f = loss_curves(path, "", {s}, true);
  CHECK(f.log_y);
  CHECK(f.py(0.01) - f.py(0.1) == Approx(f.py(0.1) - f.py(1.0)));
  const PngImage img = load_png(path);
  check_page(img, f, false);
  for (int e : {0, 5, 10, 15, 25, 35, 40, 45}) {
    INFO("epoch " << e);
    CHECK(colour_near(img, f.px(s.x[static_cast<size_t>(e)]), f.py(s.y[static_cast<size_t>(e)]),
                      tableau10(0), 30));
  }
}

TEST_CASE("loss_curves: inputs that cannot be plotted", "[plot][errors]") {
  const TempDir dir("plot-loss-errors");
  const std::string path = dir.file("x.png");
  CHECK_THROWS_MATCHES(loss_curves(path, "t", {}, false), kiln::ShapeError,
                       Catch::Matchers::Message("[loss_curves] no series to plot"));
  CHECK_THROWS_MATCHES(
      loss_curves(path, "t", {Series{"train", {1, 2, 3}, {1, 2}}}, false), kiln::ShapeError,
      Catch::Matchers::Message("[loss_curves] series 'train' has 3 x values but 2 y values"));
  CHECK_THROWS_MATCHES(
      loss_curves(path, "t", {Series{"train", {1, 2}, {0.0, -1.0}}}, true), kiln::ShapeError,
      Catch::Matchers::Message("[loss_curves] nothing to draw: no series has a finite point with "
                               "y > 0 for the log scale"));
  CHECK_THROWS_MATCHES(
      loss_curves(path, "t", {Series{"train", {1, 2}, {NAN, INFINITY}}}, false), kiln::ShapeError,
      Catch::Matchers::Message("[loss_curves] nothing to draw: no series has a finite point"));
  const std::string bad = dir.file("no/such/dir/loss.png");
  CHECK_THROWS_MATCHES(loss_curves(bad, "t", {Series{"train", {1, 2}, {1, 2}}}, false), kiln::Error,
                       Catch::Matchers::Message(
                           "[plot] " + bad + ": cannot write the PNG: No such file or directory"));
}

TEST_CASE("prediction_1d: dots for the data, a dashed truth, a solid prediction", "[plot]") {
  const TempDir dir("plot-pred");
  const std::string path = dir.file("pred.png");
  const int n = 120;
  Eigen::VectorXd grid = Eigen::VectorXd::LinSpaced(n, -3.0, 3.0), truth(n), pred(n);
  for (int i = 0; i < n; ++i) {
    truth(i) = std::sin(grid(i));
    pred(i) = std::sin(grid(i)) - 1.0; // far enough below the truth to tell them apart
  }
  // Data well above both curves.
  Eigen::VectorXd dx = Eigen::VectorXd::LinSpaced(15, -2.8, 2.8), dy(15);
  for (int i = 0; i < 15; ++i)
    dy(i) = std::sin(dx(i)) + 1.2;
  const Frame f = prediction_1d(path, "sin", dx, dy, grid, truth, pred);
  const PngImage img = load_png(path);
  REQUIRE(img.width == 800);
  REQUIRE(img.height == 560);
  check_page(img, f, true);

  const Rgb dot = mix(kWhite, tableau10(0), 0.45);
  int dots = 0;
  // Radius 1: a dot on a grid line is a different blend in the grid line's column.
  for (int i = 0; i < 15; ++i)
    dots += colour_near(img, f.px(dx(i)), f.py(dy(i)), dot, 12, 1);
  CHECK(dots >= 13); // the legend may hide one or two
  int on_prediction = 0;
  for (int i = 0; i < n; ++i)
    on_prediction += colour_near(img, f.px(grid(i)), f.py(pred(i)), tableau10(1), 30);
  CHECK(on_prediction >= n - 12);
  // Dashes: the truth line is drawn along part of its path and left open along the rest,
  // looked at in every pixel column it crosses.
  int columns = 0, truth_ink = 0, truth_gap = 0;
  for (int x = static_cast<int>(f.px(-3.0)) + 1; x < static_cast<int>(f.px(3.0)); ++x, ++columns) {
    const double v = -3.0 + 6.0 * (x + 0.5 - f.px(-3.0)) / (f.px(3.0) - f.px(-3.0));
    const Rgb t = img.at(x + 0.5, f.py(std::sin(v)));
    truth_ink += near(t, Rgb{64, 64, 64}, 40);
    truth_gap += t == kWhite || t == kGrid;
  }
  CHECK(truth_ink > columns / 4);
  CHECK(truth_gap > columns / 6);
}

TEST_CASE("prediction_1d: mismatched inputs", "[plot][errors]") {
  const TempDir dir("plot-pred-errors");
  const std::string path = dir.file("x.png");
  const Eigen::VectorXd three = Eigen::VectorXd::Ones(3), two = Eigen::VectorXd::Ones(2);
  const Eigen::VectorXd none;
  CHECK_THROWS_MATCHES(
      prediction_1d(path, "", three, two, three, three, three), kiln::ShapeError,
      Catch::Matchers::Message("[prediction_1d] data_x has 3 values but data_y has 2"));
  CHECK_THROWS_MATCHES(
      prediction_1d(path, "", three, three, three, three, two), kiln::ShapeError,
      Catch::Matchers::Message("[prediction_1d] grid_x has 3 values but prediction_y has 2"));
  CHECK_THROWS_MATCHES(
      prediction_1d(path, "", three, three, three, two, three), kiln::ShapeError,
      Catch::Matchers::Message("[prediction_1d] grid_x has 3 values but truth_y has 2"));
  CHECK_THROWS_MATCHES(
      prediction_1d(path, "", none, none, none, none, none), kiln::ShapeError,
      Catch::Matchers::Message("[prediction_1d] nothing to draw: no finite point"));
  // Without a truth curve the plot is still drawn.
  prediction_1d(path, "", three, three, three, none, three);
  CHECK(load_png(path).width == 800);
}
