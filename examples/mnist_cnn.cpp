// The course's CNN notebook (dnn101) in C++: Conv2d(1, 32, 3) - ReLU - Conv2d(32, 64, 3) - ReLU -
// MaxPool2d(2) - Dropout(0.25) - Flatten - Linear(9216, 128) - ReLU - Dropout(0.5) -
// Linear(128, 10), cross-entropy, Adam, batch 32, inputs normalized as (x - 0.1307) / 0.3081.
//
// Data: an MNIST-style directory (--data). Its training split, when there is one, is cut into
// training and validation sets and its test split is the test set (Fashion-MNIST: Debian's
// dataset-fashion-mnist, /usr/share/datasets/fashion-mnist); a directory with only the test
// split (the MNIST test set shipped in tests/data/mnist, the default) is cut into all three.
// Plots: the loss curves, the first layer's filters, and one test image's feature maps.

#include <CLI/CLI.hpp>

#include <algorithm>
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

using namespace kiln;

/** Row `row` of m ([n, planes * h * w]) as `planes` images of h x w, at most `count` of them. */
std::vector<Eigen::MatrixXd> planes(const MatrixRM& m, Eigen::Index row, int64_t h, int64_t w,
                                    int64_t count) {
  std::vector<Eigen::MatrixXd> out;
  const int64_t n = std::min<int64_t>(count, m.cols() / (h * w));
  for (int64_t p = 0; p < n; ++p) {
    Eigen::MatrixXd img(h, w);
    for (int64_t i = 0; i < h * w; ++i)
      img(i / w, i % w) = m(row, p * h * w + i);
    out.push_back(img);
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  std::string dir = KILN_MNIST_DIR;
  int limit = 0;
  double mean = 0.1307, stddev = 0.3081;
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 10, .batch_size = 32, .lr = 1e-2},
      "mnist_cnn: the course's convolutional network (dnn101) on MNIST-style images",
      [&](CLI::App& app) {
        app.add_option("--data", dir,
                       "MNIST-style directory (train-/t10k-images-idx3-ubyte[.gz] and labels), "
                       "e.g. /usr/share/datasets/fashion-mnist")
            ->capture_default_str();
        app.add_option("--limit", limit, "train on at most this many images (0: all)")
            ->capture_default_str();
        app.add_option("--mean", mean, "pixel mean the inputs are normalized by")
            ->capture_default_str();
        app.add_option("--std", stddev, "pixel standard deviation the inputs are normalized by")
            ->capture_default_str();
      });
  if (limit < 0 || !(stddev > 0))
    examples::usage_error("--limit must be >= 0 and --std > 0");
  const std::string out = examples::prepare_out(o);

  const data::MnistDir files = data::read_mnist_dir(dir);
  data::Split parts;
  if (files.train.rows() > 0) {
    const data::Split s = data::split(files.train, 11.0 / 12.0, 1.0 / 12.0, o.seed);
    parts = {s.train, s.val, files.test};
  } else {
    parts = data::split(files.test, 0.8, 0.1, o.seed);
  }
  if (limit > 0 && limit < parts.train.rows()) {
    std::vector<int> first(static_cast<size_t>(limit));
    for (int i = 0; i < limit; ++i)
      first[static_cast<size_t>(i)] = i;
    parts.train = parts.train.subset(first);
  }
  for (data::Dataset* d : {&parts.train, &parts.val, &parts.test})
    data::normalize_channels(*d, {mean}, {stddev});

  // Rows of 784 pixels come in; Unflatten makes them [N, 1, 28, 28] images.
  nn::Conv2d conv1(1, 32, 3, 1), conv2(32, 64, 3, 1);
  nn::Sequential net{nn::Unflatten(1, {1, 28, 28}),
                     conv1,
                     nn::ReLU(),
                     conv2,
                     nn::ReLU(),
                     nn::MaxPool2d(2),
                     nn::Dropout(0.25),
                     nn::Flatten(),
                     nn::Linear(9216, 128),
                     nn::ReLU(),
                     nn::Dropout(0.5),
                     nn::Linear(128, 10)};
  Trainer trainer(net, Loss::cross_entropy(), std::make_shared<optim::Adam>(o.lr));
  const int epochs = examples::resume(trainer, o, o.checkpoint);
  const History h =
      trainer.fit(parts.train, &parts.val,
                  examples::fit_options(o, epochs, o.checkpoint, out + "mnist_cnn.csv"));
  if (!examples::main_rank(o))
    return 0; // rank 0 reports
  const Metrics test = trainer.evaluate(parts.test);

  examples::plot_loss_curves(out + "mnist_cnn_loss.png", "CNN: cross-entropy per epoch", h);
  // The first layer's 32 filters (3 x 3 each), as the notebook's plot_Conv2d_filters.
  const MatrixRM w1 = trainer.param(conv1.weight.name()); // [32, 1 * 3 * 3]
  std::vector<Eigen::MatrixXd> filters;
  for (Eigen::Index f = 0; f < w1.rows(); ++f)
    filters.push_back(planes(w1, f, 3, 3, 1)[0]);
  plot::montage(out + "mnist_cnn_filters.png", "first layer filters",
                {{"Conv2d(1, 32, 3): 32 filters", filters, 8}});
  // One test image and what the two convolutions make of it (plot_CNN_features, 16 maps each).
  Input y{{784}, "y"};
  const Expr c1 = conv1.forward(nn::Unflatten(1, {1, 28, 28}).forward(y));
  const Expr c2 = conv2.forward(relu(c1));
  const Lowered maps = lower({{"c1", c1}, {"c2", c2}});
  Executable features = Executable::compile(maps.graph, {.name = "features"});
  for (const ParamSpec& p : maps.params)
    features.set_param(p.name, trainer.param(p.name));
  const MatrixRM image = parts.test.x.topRows(1);
  const auto fm = features.run({{"y", image}});
  plot::montage(out + "mnist_cnn_features.png", "one test image and its feature maps",
                {{"input", planes(image, 0, 28, 28, 1), 1},
                 {"Conv2d 1: 16 of 32 maps", planes(fm.at("c1"), 0, 26, 26, 16), 4},
                 {"Conv2d 2: 16 of 64 maps", planes(fm.at("c2"), 0, 24, 24, 16), 4}});

  const EpochStats last = examples::final_stats(h);
  std::printf("mnist_cnn: %d epochs of %d steps on %d images (%s), plots in %s\n", o.epochs,
              (parts.train.rows() + o.batch_size - 1) / o.batch_size, parts.train.rows(),
              dir.c_str(), out.c_str());
  examples::print_result({{"val_loss", last.val_loss},
                          {"val_acc", last.val_acc},
                          {"test_loss", test.loss},
                          {"test_acc", test.accuracy},
                          {"train_time_s", h.train_time_s},
                          {"eval_time_s", h.eval_time_s},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
