// A residual network from the course's dynamics chapter, in C++. dnn101/dynamics/resnet.py
// stacks layers u <- u + h * tanh(K u + b) (forward Euler steps of an ODE, "RK1", h = 1 by
// default); here: an opening layer Linear(2, 8) + tanh lifts the points into 8 features, 8
// residual layers u + tanh(K u + b) move them, and Linear(8, 3) reads off the class.
// The task is the course's level-set classification with the function from dnn101's
// classification/data.py demo, f(x1, x2) = sin(x1) + cos(x2) on [-3, 3]^2 cut into 3 bands
// (labelling noise 0.01; 2000 training, 100 validation and 100 test points), trained as in the
// classification notebook: cross-entropy, Adam with lr 1e-3, batch 5, 50 epochs.
// The width 8 and depth 8 are this example's choice (resnet.py's demo uses width 4, depth 5).
// Plots: the loss curves, the true classes and the network's decision regions.

#include <cmath>
#include <cstdio>
#include <string>

#include "examples/common/cli.h"
#include "examples/common/history.h"
#include "frontend/kiln.h"
#include "io/data.h"
#include "plot/plot.h"
#include "trainer/trainer.h"

int main(int argc, char** argv) {
  using namespace kiln;
  const examples::Options o =
      examples::parse_options(argc, argv, {.epochs = 50, .batch_size = 5, .lr = 1e-3},
                              "residual_net: 3 level-set classes of sin(x1) + cos(x2) with 8 "
                              "residual tanh layers of width 8 (dnn101)");
  const std::string out = examples::prepare_out(o);

  constexpr int kWidth = 8, kDepth = 8, kClasses = 3;
  auto f = [](double a, double b) { return std::sin(a) + std::cos(b); };
  const data::Box box{-3, 3, -3, 3};
  const data::Dataset all = data::level_set_2d(f, box, 2200, kClasses, o.seed);
  // dnn101's split_data(n_train=2000, n_val=100): the last 100 shuffled points are the test set.
  const data::Split parts = data::split(all, 2000.0 / 2200, 100.0 / 2200, o.seed);

  nn::Sequential net{nn::Linear(2, kWidth), nn::Tanh()};
  for (int d = 0; d < kDepth; ++d)
    net.push_back(nn::Residual(kWidth, nn::Tanh()));
  net.push_back(nn::Linear(kWidth, kClasses));
  Trainer trainer(net, Loss::cross_entropy(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h =
      trainer.fit(parts.train, &parts.val,
                  examples::fit_options(o, epochs, o.checkpoint, out + "residual_net.csv"));
  if (!examples::main_rank(o))
    return 0; // rank 0 reports
  const Metrics test = trainer.evaluate(parts.test);
  examples::plot_loss_curves(out + "residual_net_loss.png",
                             "ResNet, 8 layers of width 8: cross-entropy per epoch", h);

  // The classes on a 200x200 grid: the bands of f (the truth) and the network's choice.
  constexpr int kGrid = 200;
  MatrixRM cells(kGrid * kGrid, 2);
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j) {
      cells(i * kGrid + j, 0) =
          static_cast<float>(box.x_lo + (box.x_hi - box.x_lo) * (j + 0.5) / kGrid);
      cells(i * kGrid + j, 1) =
          static_cast<float>(box.y_hi - (box.y_hi - box.y_lo) * (i + 0.5) / kGrid);
    }
  const MatrixRM logits = trainer.predict(cells);
  const std::vector<double> cutoffs = data::level_cutoffs(f, box, kClasses);
  Eigen::MatrixXi truth(kGrid, kGrid), predicted(kGrid, kGrid);
  for (int k = 0; k < kGrid * kGrid; ++k) {
    Eigen::Index best;
    logits.row(k).maxCoeff(&best);
    predicted(k / kGrid, k % kGrid) = static_cast<int>(best);
    truth(k / kGrid, k % kGrid) = data::level_class(f(cells(k, 0), cells(k, 1)), cutoffs);
  }
  plot::decision_regions(out + "residual_net_truth.png", "true classes: bands of sin(x1) + cos(x2)",
                         box, truth, parts.val.x, parts.val.labels, kClasses);
  plot::decision_regions(out + "residual_net_regions.png",
                         "ResNet decision regions (validation points)", box, predicted, parts.val.x,
                         parts.val.labels, kClasses);

  const EpochStats last = examples::final_stats(h);
  std::printf("residual_net: %d epochs of %d steps, plots in %s\n", o.epochs,
              (parts.train.rows() + o.batch_size - 1) / o.batch_size, out.c_str());
  examples::print_result({{"val_loss", last.val_loss},
                          {"val_acc", last.val_acc},
                          {"train_acc", last.train_acc},
                          {"test_acc", test.accuracy},
                          {"train_time_s", h.train_time_s},
                          {"eval_time_s", h.eval_time_s},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
