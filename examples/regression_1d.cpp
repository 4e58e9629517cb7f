// The course's 1D regression notebook in C++: fit sin(x) on [-3, 3] from 2000 noisy samples
// (noise sigma 0.2) with a 1-14-10-1 network (tanh, then sigmoid), MSE loss, Adam, batch 5.

#include <cmath>
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
      argc, argv, {.epochs = 20, .batch_size = 5, .lr = 1e-3},
      "regression_1d: fit sin(x) on [-3, 3] with a 1-14-10-1 tanh/sigmoid network (dnn101)");
  const std::string out = examples::prepare_out(o);

  auto f = [](double x) { return std::sin(x); };
  const data::Dataset train = data::regression_1d(f, -3, 3, 2000, 0.2, o.seed);
  const data::Dataset val = data::regression_1d(f, -3, 3, 500, 0.2, o.seed + 1);

  nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 1)};
  Trainer trainer(net, Loss::mse(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h = trainer.fit(train, &val,
                                {.epochs = epochs,
                                 .batch_size = o.batch_size,
                                 .seed = o.seed,
                                 .verbose = o.verbose,
                                 .csv_log = out + "regression_1d.csv",
                                 .checkpoint = o.checkpoint,
                                 .device = examples::device(o),
                                 .comm = o.comm});
  if (!examples::main_rank(o))
    return 0; // rank 0 reports

  examples::plot_loss_curves(out + "regression_1d_loss.png", "1-14-10-1 on sin(x): MSE per epoch",
                             h);
  MatrixRM grid(200, 1);
  Eigen::VectorXd gx(200), truth(200), pred(200);
  for (int i = 0; i < 200; ++i)
    grid(i, 0) = static_cast<float>(gx(i) = -3.0 + 6.0 * i / 199.0);
  const MatrixRM p = trainer.predict(grid);
  for (int i = 0; i < 200; ++i) {
    truth(i) = f(gx(i));
    pred(i) = p(i, 0);
  }
  plot::prediction_1d(out + "regression_1d_prediction.png", "sin(x): data, truth and the network",
                      val.x.col(0).cast<double>(), val.y.col(0).cast<double>(), gx, truth, pred);

  const EpochStats last = examples::final_stats(h);
  std::printf("regression_1d: %d epochs of %d steps, plots in %s\n", o.epochs,
              (train.rows() + o.batch_size - 1) / o.batch_size, out.c_str());
  examples::print_result({{"val_loss", last.val_loss},
                          {"train_loss", last.train_loss},
                          {"train_time_s", h.train_time_s},
                          {"eval_time_s", h.eval_time_s},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
