// The montage of a CNN's filters and feature maps: images tiled with black gaps, each panel in
// viridis over its own range, and its errors.

#include "plot/plot.h"

#include "png_image.h"

#include "base/error.h"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace kiln;
using Catch::Contains;

namespace {

std::string temp_png(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "kiln_montage_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

/** Image k of n: 2 x 3 pixels valued 6k + (row-major position), so values run 0 .. 6n - 1. */
std::vector<Eigen::MatrixXd> ramp(int n) {
  std::vector<Eigen::MatrixXd> out;
  for (int k = 0; k < n; ++k) {
    Eigen::MatrixXd m(2, 3);
    for (int i = 0; i < 6; ++i)
      m(i / 3, i % 3) = 6 * k + i;
    out.push_back(m);
  }
  return out;
}

} // namespace

TEST_CASE("a montage tiles the images in a grid, in viridis over the panel's range") {
  const std::string path = temp_png("ramp.png");
  const std::vector<plot::MontageGrid> grids =
      plot::montage(path, "filters", {{"layer 1", ramp(5), 0}, {"one", ramp(1), 0}});
  REQUIRE(grids.size() == 2);
  const plot::MontageGrid g = grids[0];
  CHECK(g.columns == 3); // ceil(sqrt(5))
  CHECK(g.scale >= 10);
  const test::PngImage img = test::load_png(path);
  const int s = g.scale, cell_w = 3 * s + 1, cell_h = 2 * s + 1;
  auto centre = [&](int k, int i, int j) {
    return img.at(g.x + (k % 3) * cell_w + j * s + s / 2, g.y + (k / 3) * cell_h + i * s + s / 2);
  };
  // Value 0 is the darkest, 29 (image 4's last pixel) the brightest; the rest in between.
  CHECK(test::near(centre(0, 0, 0), plot::viridis(0.0), 2));
  CHECK(test::near(centre(4, 1, 2), plot::viridis(1.0), 2));
  CHECK(test::near(centre(2, 0, 1), plot::viridis(13.0 / 29.0), 2));
  // The gap between images 0 and 1 and the empty sixth cell are black.
  CHECK(img.at(g.x + 3 * s, g.y + s) == plot::kBlack);
  CHECK(img.at(g.x + 2 * cell_w + s, g.y + cell_h + s) == plot::kBlack);
  // The second panel has one image with its own range: its first pixel is the darkest again.
  const plot::MontageGrid h = grids[1];
  CHECK(h.x > g.x + 3 * cell_w);
  CHECK(test::near(img.at(h.x + h.scale / 2, h.y + h.scale / 2), plot::viridis(0.0), 2));
}

TEST_CASE("montage errors name the panel and the image") {
  const std::string path = temp_png("bad.png");
  CHECK_THROWS_AS(plot::montage(path, "t", {}), ShapeError);
  CHECK_THROWS_WITH(plot::montage(path, "t", {}), Contains("[montage] needs at least one panel"));
  CHECK_THROWS_WITH(plot::montage(path, "t", {{"empty", {}, 0}}),
                    Contains("[montage] panel 0 ('empty') has no images"));
  std::vector<Eigen::MatrixXd> mixed = ramp(2);
  mixed.push_back(Eigen::MatrixXd::Zero(3, 3));
  CHECK_THROWS_WITH(plot::montage(path, "t", {{"a", ramp(1), 0}, {"b", mixed, 0}}),
                    Contains("[montage] panel 1 ('b'): image 2 is 3 x 3, image 0 is 2 x 3"));
  std::vector<Eigen::MatrixXd> nan = ramp(1);
  nan[0](1, 1) = std::nan("");
  CHECK_THROWS_WITH(plot::montage(path, "t", {{"n", nan, 0}}),
                    Contains("[montage] panel 0 ('n'): image 0 has a value that is not finite"));
}
