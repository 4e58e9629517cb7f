// One realistic example of each plot, written where a person can look at them:
// $KILN_PLOT_DIR, else /tmp/kiln-plots. The data come from kiln_data; the "models" are simple
// stand-ins fitted here (least squares, nearest neighbours), so the pictures look like the
// course's without training a network.

#include "io/synthetic.h"
#include "plot/plot.h"

#include "png_image.h"

#include "base/rng.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

using namespace kiln;

namespace {

std::string sample_dir() {
  const char* env = std::getenv("KILN_PLOT_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : "/tmp/kiln-plots";
  std::filesystem::create_directories(dir);
  return dir;
}

// Noisy, decaying curves shaped like a small network's training history.
std::vector<plot::Series> training_history() {
  Rng rng(3);
  plot::Series train{"training", {}, {}}, val{"validation", {}, {}};
  for (int e = 1; e <= 60; ++e) {
    train.x.push_back(e);
    val.x.push_back(e);
    train.y.push_back(0.02 + 0.9 * std::exp(-e / 9.0) * (1 + 0.05 * rng.normal()));
    val.y.push_back(0.035 + 0.9 * std::exp(-e / 10.0) * (1 + 0.08 * rng.normal()));
  }
  return {train, val};
}

// Least-squares polynomial of the given degree through (x, y), evaluated at `at`.
Eigen::VectorXd polyfit(const Eigen::VectorXd& x, const Eigen::VectorXd& y, int degree,
                        const Eigen::VectorXd& at) {
  const auto vandermonde = [&](const Eigen::VectorXd& t) {
    Eigen::MatrixXd v(t.size(), degree + 1);
    for (int k = 0; k <= degree; ++k)
      v.col(k) = t.array().pow(k);
    return v;
  };
  const Eigen::VectorXd c = vandermonde(x).colPivHouseholderQr().solve(y);
  return vandermonde(at) * c;
}

// The majority class among the k nearest training points, on a rows x cols grid over `box`.
Eigen::MatrixXi knn_grid(const data::Dataset& d, const data::Box& box, int rows, int cols, int k) {
  Eigen::MatrixXi grid(rows, cols);
  std::vector<std::pair<float, int>> dist(static_cast<size_t>(d.rows()));
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      const double x1 = box.x_lo + (box.x_hi - box.x_lo) * (j + 0.5) / cols;
      const double x2 = box.y_hi - (box.y_hi - box.y_lo) * (i + 0.5) / rows;
      for (int p = 0; p < d.rows(); ++p)
        dist[static_cast<size_t>(p)] = {
            static_cast<float>(std::pow(d.x(p, 0) - x1, 2) + std::pow(d.x(p, 1) - x2, 2)),
            d.labels(p)};
      std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
      std::vector<int> votes(static_cast<size_t>(d.num_classes), 0);
      for (int q = 0; q < k; ++q)
        ++votes[static_cast<size_t>(dist[static_cast<size_t>(q)].second)];
      grid(i, j) = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
    }
  return grid;
}

} // namespace

TEST_CASE("sample plots for a person to look at", "[plot][samples]") {
  const std::string dir = sample_dir();
  INFO("sample plots in " << dir);

  const std::string loss = dir + "/loss_curves.png";
  plot::loss_curves(loss, "MLP on sin(x), Adam: loss per epoch", training_history(), true);

  const data::Dataset d = data::regression_1d();
  const Eigen::VectorXd dx = d.x.col(0).cast<double>().head(300);
  const Eigen::VectorXd dy = d.y.col(0).cast<double>().head(300);
  const Eigen::VectorXd grid_x = Eigen::VectorXd::LinSpaced(200, -3.0, 3.0);
  const Eigen::VectorXd truth = grid_x.array().sin();
  const Eigen::VectorXd fit =
      polyfit(d.x.col(0).cast<double>(), d.y.col(0).cast<double>(), 5, grid_x);
  const std::string pred = dir + "/prediction_1d.png";
  plot::prediction_1d(pred, "sin(x) + noise 0.2: degree-5 least-squares fit", dx, dy, grid_x, truth,
                      fit);

  const data::Dataset ls = data::level_set_2d();
  const data::Dataset train = ls.subset([] {
    std::vector<int> idx(600);
    for (int i = 0; i < 600; ++i)
      idx[static_cast<size_t>(i)] = i;
    return idx;
  }());
  const Eigen::MatrixXi classes = knn_grid(train, data::Box{}, 120, 120, 15);
  const std::string regions = dir + "/decision_regions.png";
  plot::decision_regions(regions, "x1^2 + x2^2 in 3 bands: 15-nearest-neighbour classifier",
                         data::Box{}, classes, train.x.topRows(300), train.labels.head(300), 3);

  Rng rng(11);
  Eigen::MatrixXd ablation(4, 5);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 5; ++j)
      ablation(i, j) = 0.5 * std::pow(0.45, j) * std::pow(0.7, i) * (1 + 0.15 * rng.normal());
  const std::string heat = dir + "/heatmap.png";
  plot::heatmap(heat, "Final validation loss by width and depth", ablation, {"1", "2", "4", "8"},
                {"4", "8", "16", "32", "64"}, "width (neurons per layer)", "depth (hidden layers)",
                true);

  for (const auto& [path, w, h] :
       {std::tuple{loss, 800, 560}, {pred, 800, 560}, {regions, 760, 640}, {heat, 760, 560}}) {
    const test::PngImage img = test::load_png(path);
    CHECK(img.width == w);
    CHECK(img.height == h);
  }
}
