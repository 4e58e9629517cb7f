// The course's classification notebook with scikit-learn's moons, in C++: make_moons with noise
// 0.1 (2000 training, 100 validation and 100 test points), the notebook's 2-14-10-2 network
// (tanh, then sigmoid), cross-entropy, Adam with lr 1e-3, batch 5, 50 epochs. Plots: the loss
// curves and the decision regions over the data's bounding box widened by 0.5 (dnn101's domain).

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
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 50, .batch_size = 5, .lr = 1e-3},
      "moons: two interleaving half circles with a 2-14-10-2 tanh/sigmoid network (dnn101)");
  const std::string out = examples::prepare_out(o);

  const data::Dataset all = data::moons(2200, 0.1, o.seed);
  // dnn101's split_data(n_train=2000, n_val=100): the last 100 shuffled points are the test set.
  const data::Split parts = data::split(all, 2000.0 / 2200, 100.0 / 2200, o.seed);

  nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 2)};
  Trainer trainer(net, Loss::cross_entropy(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h = trainer.fit(parts.train, &parts.val,
                                examples::fit_options(o, epochs, o.checkpoint, out + "moons.csv"));
  if (!examples::main_rank(o))
    return 0; // rank 0 reports
  const Metrics test = trainer.evaluate(parts.test);
  examples::plot_loss_curves(out + "moons_loss.png", "2-14-10-2 on moons: cross-entropy per epoch",
                             h);

  // The decision regions: the network's class at the centre of every cell of a 200x200 grid.
  const Eigen::RowVector2f lo = all.x.colwise().minCoeff(), hi = all.x.colwise().maxCoeff();
  const data::Box box{lo(0) - 0.5, hi(0) + 0.5, lo(1) - 0.5, hi(1) + 0.5};
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
  for (int k = 0; k < kGrid * kGrid; ++k)
    classes(k / kGrid, k % kGrid) = logits(k, 1) > logits(k, 0) ? 1 : 0;
  // The points the network never trained on: validation and test.
  MatrixRM held_out(parts.val.rows() + parts.test.rows(), 2);
  held_out << parts.val.x, parts.test.x;
  Eigen::VectorXi held_out_labels(held_out.rows());
  held_out_labels << parts.val.labels, parts.test.labels;
  plot::decision_regions(out + "moons_regions.png",
                         "moons: decision regions (validation and test points)", box, classes,
                         held_out, held_out_labels, 2);

  const EpochStats last = examples::final_stats(h);
  std::printf("moons: %d epochs of %d steps, plots in %s\n", o.epochs,
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
