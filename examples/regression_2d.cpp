// The course's regression notebook with its 2D data set, in C++: fit f(x1, x2) = sin(x1) + cos(x2)
// on [-3, 3]^2 from noisy samples (noise sigma 0.2; 2000 training, 100 validation and 100 test
// points) with the notebook's 2-14-10-1 network (tanh, then sigmoid), MSE loss, Adam with
// lr 1e-3, batch 5, 50 epochs. Plots: the loss curves, and heat maps of the truth, the network's
// prediction and their absolute difference on a 61 x 61 grid over the domain (the notebook draws
// 50 x 50; 61 puts a grid point on every integer).

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "examples/common/cli.h"
#include "examples/common/history.h"
#include "frontend/kiln.h"
#include "io/data.h"
#include "plot/plot.h"
#include "trainer/trainer.h"

namespace {

// 61 points from -3 to 3 put a grid point on every integer, so the axes can be labelled there.
constexpr int kGrid = 61;

double grid_value(int k) {
  return -3.0 + 6.0 * k / (kGrid - 1);
}

// heatmap() labels every cell; only the integers get a name, the other ticks stay blank.
std::vector<std::string> integer_labels(bool descending) {
  std::vector<std::string> labels;
  for (int k = 0; k < kGrid; ++k) {
    const double v = grid_value(descending ? kGrid - 1 - k : k);
    labels.push_back(
        std::abs(v - std::round(v)) < 1e-9 ? std::to_string(static_cast<int>(std::round(v))) : "");
  }
  return labels;
}

} // namespace

int main(int argc, char** argv) {
  using namespace kiln;
  const examples::Options o =
      examples::parse_options(argc, argv, {.epochs = 50, .batch_size = 5, .lr = 1e-3},
                              "regression_2d: fit sin(x1) + cos(x2) on [-3, 3]^2 with a 2-14-10-1 "
                              "tanh/sigmoid network (dnn101)");
  const std::string out = examples::prepare_out(o);

  auto f = [](double a, double b) { return std::sin(a) + std::cos(b); };
  const data::Dataset all = data::regression_2d(f, data::Box{-3, 3, -3, 3}, 2200, 0.2, o.seed);
  // dnn101's split_data(n_train=2000, n_val=100): the last 100 shuffled points are the test set.
  const data::Split parts = data::split(all, 2000.0 / 2200, 100.0 / 2200, o.seed);

  nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 1)};
  Trainer trainer(net, Loss::mse(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h =
      trainer.fit(parts.train, &parts.val,
                  examples::fit_options(o, epochs, o.checkpoint, out + "regression_2d.csv"));
  if (!examples::main_rank(o))
    return 0; // rank 0 reports
  const Metrics test = trainer.evaluate(parts.test);

  examples::plot_loss_curves(out + "regression_2d_loss.png",
                             "2-14-10-1 on sin(x1) + cos(x2): MSE per epoch", h);

  // Row i of a heat map is drawn at the top for i = 0, so rows run from x2 = 3 down to x2 = -3.
  MatrixRM points(kGrid * kGrid, 2);
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j) {
      points(i * kGrid + j, 0) = static_cast<float>(grid_value(j));
      points(i * kGrid + j, 1) = static_cast<float>(grid_value(kGrid - 1 - i));
    }
  const MatrixRM p = trainer.predict(points);
  Eigen::MatrixXd truth(kGrid, kGrid), pred(kGrid, kGrid);
  for (int k = 0; k < kGrid * kGrid; ++k) {
    truth(k / kGrid, k % kGrid) = f(points(k, 0), points(k, 1));
    pred(k / kGrid, k % kGrid) = p(k, 0);
  }
  const std::vector<std::string> cols = integer_labels(false), rows = integer_labels(true);
  plot::heatmap(out + "regression_2d_truth.png", "truth: sin(x1) + cos(x2)", truth, rows, cols,
                "x1", "x2", false);
  plot::heatmap(out + "regression_2d_prediction.png", "the network's prediction", pred, rows, cols,
                "x1", "x2", false);
  plot::heatmap(out + "regression_2d_error.png", "|prediction - truth|", (pred - truth).cwiseAbs(),
                rows, cols, "x1", "x2", false);

  const EpochStats last = examples::final_stats(h);
  std::printf("regression_2d: %d epochs of %d steps, plots in %s\n", o.epochs,
              (parts.train.rows() + o.batch_size - 1) / o.batch_size, out.c_str());
  examples::print_result({{"val_loss", last.val_loss},
                          {"train_loss", last.train_loss},
                          {"test_loss", test.loss},
                          {"max_abs_error", (pred - truth).cwiseAbs().maxCoeff()},
                          {"train_time_s", h.train_time_s},
                          {"eval_time_s", h.eval_time_s},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
