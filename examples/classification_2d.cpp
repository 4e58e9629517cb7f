// The course's classification notebook in C++: points in [-3, 3]^2 labelled by the level sets
// of x1^2 + x2^2 (3 classes), a 2-14-10-3 network (tanh, then sigmoid), cross-entropy, Adam,
// batch 5, 50 epochs.

#include <cstdio>

#include "examples/common/cli.h"
#include "examples/common/history.h"
#include "frontend/kiln.h"
#include "io/data.h"
#include "plot/plot.h"
#include "trainer/trainer.h"

int main(int argc, char** argv) {
  using namespace kiln;
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 50, .batch_size = 5, .lr = 1e-3},
      "classification_2d: 3 level-set classes of x1^2 + x2^2 with a 2-14-10-3 network (dnn101)");
  const std::string out = examples::prepare_out(o);

  auto f = [](double a, double b) { return a * a + b * b; };
  const data::Box box{-3, 3, -3, 3};
  const data::Dataset all = data::level_set_2d(f, box, 2500, 3, o.seed);
  const data::Split parts = data::split(all, 0.8, 0.2, o.seed);

  nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 3)};
  Trainer trainer(net, Loss::cross_entropy(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h =
      trainer.fit(parts.train, &parts.val,
                  examples::fit_options(o, epochs, o.checkpoint, out + "classification_2d.csv"));
  if (!examples::main_rank(o))
    return 0; // rank 0 reports

  examples::plot_loss_curves(out + "classification_2d_loss.png",
                             "2-14-10-3 on 3 level sets: cross-entropy per epoch", h);
  // The decision regions: the network's class at the centre of every cell of a 200x200 grid.
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
  Eigen::MatrixXi classes(kGrid, kGrid);
  for (int k = 0; k < kGrid * kGrid; ++k) {
    Eigen::Index best;
    logits.row(k).maxCoeff(&best);
    classes(k / kGrid, k % kGrid) = static_cast<int>(best);
  }
  plot::decision_regions(out + "classification_2d_regions.png",
                         "decision regions (validation points)", box, classes, parts.val.x,
                         parts.val.labels, 3);

  const EpochStats last = examples::final_stats(h);
  std::printf("classification_2d: %d epochs of %d steps, plots in %s\n", o.epochs,
              (parts.train.rows() + o.batch_size - 1) / o.batch_size, out.c_str());
  examples::print_result({{"val_loss", last.val_loss},
                          {"val_acc", last.val_acc},
                          {"train_acc", last.train_acc},
                          {"train_time_s", h.train_time_s},
                          {"eval_time_s", h.eval_time_s},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
