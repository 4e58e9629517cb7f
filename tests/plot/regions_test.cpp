// decision_regions and heatmap, checked on the decoded PNG.

#include "plot/plot.h"

#include "png_image.h"
#include "tests/support/temp_dir.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace kiln::plot;
using kiln::MatrixRM;
using kiln::data::Box;
using kiln::test::colour_near;
using kiln::test::dark_pixels;
using kiln::test::load_png;
using kiln::test::near;
using kiln::test::PngImage;
using kiln::test::TempDir;

TEST_CASE("decision_regions: light regions where the grid says, dark-rimmed points", "[plot]") {
  const TempDir dir("plot-regions");
  const std::string path = dir.file("regions.png");
  const Box box{-2.0, 2.0, -1.0, 3.0};
  // Class 0 left of x1 = 0; right of it class 1 above x2 = 1 and class 2 below.
  Eigen::MatrixXi grid(40, 40);
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 40; ++j)
      grid(i, j) = j < 20 ? 0 : (i < 20 ? 1 : 2);
  MatrixRM points(3, 2);
  points << -1.0f, 0.0f, 1.0f, 2.0f, 1.0f, 0.0f;
  const Eigen::VectorXi labels = Eigen::Vector3i(0, 1, 2);
  const Frame f = decision_regions(path, "regions", box, grid, points, labels, 3);
  const PngImage img = load_png(path);
  REQUIRE(img.width == 760);
  REQUIRE(img.height == 640);
  CHECK(img.at(0, 0) == kWhite);
  CHECK(img.at(img.width - 1, img.height - 1) == kWhite);
  // The box is square, and so is the data area.
  CHECK(f.right - f.left == f.bottom - f.top);
  CHECK(f.x_min == -2.0);
  CHECK(f.y_max == 3.0);

  const auto light = [](int k) { return mix(kWhite, tableau10(k), 0.3); };
  CHECK(img.at(f.px(-1.5), f.py(2.5)) == light(0));
  CHECK(img.at(f.px(-0.5), f.py(-0.5)) == light(0));
  CHECK(img.at(f.px(1.5), f.py(2.5)) == light(1));
  CHECK(img.at(f.px(0.5), f.py(-0.5)) == light(2));
  // Region colours are light, so dark points stand out on them.
  for (int k = 0; k < 3; ++k)
    CHECK(luminance(light(k)) > 0.55);
  for (int i = 0; i < 3; ++i) {
    INFO("point " << i);
    const double x = f.px(points(i, 0)), y = f.py(points(i, 1));
    CHECK(near(img.at(x, y), tableau10(labels(i)), 3));
    // Going outward from the centre, the marker's rim is darker than its fill and the region.
    double darkest = 1.0;
    for (int d = 0; d <= 7; ++d)
      darkest = std::min(darkest, luminance(img.at(x + d, y)));
    CHECK(darkest < 0.8 * luminance(tableau10(labels(i))));
    CHECK(near(img.at(x + 8, y), light(labels(i)), 2));
  }
  // The legend right of the data area shows each class colour.
  for (int k = 0; k < 3; ++k) {
    bool found = false;
    for (int y = f.top; y < f.top + 80 && !found; ++y)
      for (int x = f.right + 10; x < img.width && !found; ++x)
        found = near(img.at(x, y), tableau10(k), 3);
    CHECK(found);
  }
  CHECK(dark_pixels(img, f.right + 10, f.top, img.width, f.top + 80) > 50); // "class 0" …
}

TEST_CASE("decision_regions: inputs that do not fit together", "[plot][errors]") {
  const TempDir dir("plot-regions-errors");
  const std::string path = dir.file("x.png");
  const Eigen::MatrixXi grid = Eigen::MatrixXi::Zero(4, 4);
  const MatrixRM pts = MatrixRM::Zero(2, 2);
  const Eigen::VectorXi labels = Eigen::Vector2i(0, 1);
  const auto message = [](const std::string& m) { return Catch::Matchers::Message(m); };
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, grid, pts, labels, 0), kiln::ShapeError,
                       message("[decision_regions] num_classes must be at least 1, got 0"));
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, Eigen::MatrixXi(0, 3), pts, labels, 2),
                       kiln::ShapeError, message("[decision_regions] class_grid is empty (0 x 3)"));
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{1, 0, 0, 1}, grid, pts, labels, 2),
                       kiln::ShapeError,
                       message("[decision_regions] box must have lo < hi on both axes, got [1, 0] "
                               "x [0, 1]"));
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, grid, MatrixRM::Zero(2, 3), labels, 2),
                       kiln::ShapeError,
                       message("[decision_regions] points must be [n, 2], got [2, 3]"));
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, grid, pts, Eigen::VectorXi::Zero(3), 2),
                       kiln::ShapeError, message("[decision_regions] 2 points but 3 labels"));
  Eigen::MatrixXi bad_grid = grid;
  bad_grid(2, 1) = 5;
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, bad_grid, pts, labels, 2),
                       kiln::ShapeError,
                       message("[decision_regions] class_grid(2, 1) = 5 is outside [0, 2)"));
  CHECK_THROWS_MATCHES(decision_regions(path, "", Box{}, grid, pts, Eigen::Vector2i(0, -1), 2),
                       kiln::ShapeError,
                       message("[decision_regions] labels(1) = -1 is outside [0, 2)"));
}

TEST_CASE("heatmap: viridis from the smallest to the largest value, with a colour bar", "[plot]") {
  const TempDir dir("plot-heatmap");
  const std::string path = dir.file("heat.png");
  Eigen::MatrixXd v(3, 4);
  v << 0.1, 0.2, 0.3, 0.4, //
      0.5, 0.6, 0.7, 0.8,  //
      0.9, 1.0, 1.1, 1.3;
  const Frame f = heatmap(path, "final loss", v, {"1", "2", "3"}, {"8", "16", "32", "64"}, "width",
                          "depth", false);
  const PngImage img = load_png(path);
  REQUIRE(img.width == 760);
  REQUIRE(img.height == 560);
  CHECK(img.at(0, 0) == kWhite);
  CHECK(img.at(img.width - 1, img.height - 1) == kWhite);
  // Cell (i, j) spans [j, j+1] x [i, i+1]; look near a corner, away from the value printed in it.
  CHECK(img.at(f.px(0.1), f.py(0.1)) == viridis(0.0));
  CHECK(img.at(f.px(3.9), f.py(2.9)) == viridis(1.0));
  CHECK(near(img.at(f.px(1.1), f.py(1.1)), viridis((0.6 - 0.1) / 1.2), 1));
  // Each cell prints its value: ink or white text in the middle of the cell.
  const Rgb centre_fill = viridis(0.0);
  int text = 0;
  for (int dy = -4; dy <= 4; ++dy)
    for (int dx = -12; dx <= 12; ++dx)
      text += img.at(f.px(0.5) + dx, f.py(0.5) + dy) != centre_fill;
  CHECK(text > 10);
  // The colour bar right of the cells runs from the largest value at the top to the smallest.
  bool top_max = false, bottom_min = false;
  for (int x = f.right + 5; x < f.right + 60; ++x) {
    top_max = top_max || near(img.at(x, f.top + 1), viridis(1.0), 8);
    bottom_min = bottom_min || near(img.at(x, f.bottom - 2), viridis(0.0), 8);
  }
  CHECK(top_max);
  CHECK(bottom_min);
  CHECK(dark_pixels(img, (f.left + f.right) / 2 - 100, 0, (f.left + f.right) / 2 + 100, f.top - 4) >
        100);
  // A table's cells are parted by white lines.
  CHECK(img.at(static_cast<int>(std::lround(f.px(1.0))), static_cast<int>(f.py(0.5)) + 30) ==
        kWhite);
}

TEST_CASE("heatmap: a field on a fine grid is drawn without lines between its cells", "[plot]") {
  const TempDir dir("plot-field");
  const std::string path = dir.file("field.png");
  Eigen::MatrixXd v(100, 100);
  for (int i = 0; i < 100; ++i)
    for (int j = 0; j < 100; ++j)
      v(i, j) = std::sin(0.05 * i) * std::cos(0.03 * j);
  const Frame f = heatmap(path, "u", v, {}, {}, "x", "y", false);
  const PngImage img = load_png(path);
  int white = 0;
  for (int x = f.left + 1; x < f.right; ++x)
    white += img.at(x, (f.top + f.bottom) / 2) == kWhite;
  CHECK(white == 0);
}

TEST_CASE("heatmap: log colours put the geometric mean in the middle; NaN is grey", "[plot]") {
  const TempDir dir("plot-heatmap-log");
  const std::string path = dir.file("heat.png");
  Eigen::MatrixXd v(2, 2);
  v << 1e-4, 1e-2, std::nan(""), 1.0;
  const Frame f = heatmap(path, "", v, {}, {}, "", "", true);
  const PngImage img = load_png(path);
  CHECK(img.at(f.px(0.05), f.py(0.05)) == viridis(0.0));
  CHECK(near(img.at(f.px(1.05), f.py(0.05)), viridis(0.5), 1));
  CHECK(img.at(f.px(1.95), f.py(1.95)) == viridis(1.0));
  CHECK(img.at(f.px(0.05), f.py(1.95)) == Rgb{191, 191, 191});
}

TEST_CASE("heatmap: inputs that cannot be drawn", "[plot][errors]") {
  const TempDir dir("plot-heatmap-errors");
  const std::string path = dir.file("x.png");
  const Eigen::MatrixXd v = Eigen::MatrixXd::Ones(2, 3);
  const auto message = [](const std::string& m) { return Catch::Matchers::Message(m); };
  CHECK_THROWS_MATCHES(heatmap(path, "", Eigen::MatrixXd(0, 2), {}, {}, "", "", false),
                       kiln::ShapeError, message("[heatmap] values is empty (0 x 2)"));
  CHECK_THROWS_MATCHES(heatmap(path, "", v, {"a"}, {}, "", "", false), kiln::ShapeError,
                       message("[heatmap] 1 row labels for 2 rows"));
  CHECK_THROWS_MATCHES(heatmap(path, "", v, {}, {"a", "b"}, "", "", false), kiln::ShapeError,
                       message("[heatmap] 2 column labels for 3 columns"));
  Eigen::MatrixXd neg = v;
  neg(1, 2) = -0.5;
  CHECK_THROWS_MATCHES(
      heatmap(path, "", neg, {}, {}, "", "", true), kiln::ShapeError,
      message("[heatmap] log_colour needs positive values, got values(1, 2) = -0.5"));
  CHECK_THROWS_MATCHES(
      heatmap(path, "", Eigen::MatrixXd::Constant(2, 2, NAN), {}, {}, "", "", false),
      kiln::ShapeError, message("[heatmap] values has no finite entry"));
}
