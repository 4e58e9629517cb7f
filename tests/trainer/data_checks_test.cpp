// fit() checks its data before any kernel runs: the fused epoch reads the caller's rows through
// raw pointers, so a short y or a label past the class count used to read out of bounds (or
// train on garbage, or be blamed on the learning rate), and a NaN went in unnamed.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/data.h"
#include "trainer/trainer.h"

using namespace kiln;

namespace {

Trainer regressor() {
  return Trainer(nn::Sequential{nn::Linear(1, 8), nn::Tanh(), nn::Linear(8, 1)}, Loss::mse(),
                 std::make_shared<optim::Adam>(1e-2));
}
Trainer classifier() {
  return Trainer(nn::Sequential{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 3)},
                 Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
}

data::Dataset sine(int n) {
  return data::regression_1d([](double x) { return std::sin(x); }, -3, 3, n, 0.1, 1);
}

data::Dataset three_classes(int n) {
  data::Dataset d;
  d.x = MatrixRM::Random(n, 2);
  d.labels = Eigen::VectorXi(n);
  for (int i = 0; i < n; ++i)
    d.labels(i) = i % 3;
  d.num_classes = 3;
  return d;
}

const FitOptions kQuiet{.epochs = 1, .batch_size = 10, .progress = false};

/** The message fit() throws as a DataError; nothing was compiled before it was thrown. */
std::string data_error(Trainer& t, const data::Dataset& train, const data::Dataset* val,
                       FitOptions o = kQuiet) {
  try {
    t.fit(train, val, o);
  } catch (const DataError& e) {
    CHECK(t.param_names().empty());
    return e.what();
  }
  FAIL("fit() did not throw a DataError");
  return "";
}

} // namespace

TEST_CASE("fit refuses targets or labels with fewer rows than x") {
  data::Dataset short_y = sine(200);
  short_y.y.conservativeResize(20, 1);
  Trainer r = regressor();
  CHECK(data_error(r, short_y, nullptr) == "[fit] training set: y has 20 rows but x has 200");

  data::Dataset short_labels = three_classes(200);
  short_labels.labels.conservativeResize(20);
  Trainer c = classifier();
  CHECK(data_error(c, short_labels, nullptr) ==
        "[fit] training set: labels has 20 entries but x has 200 rows");
}

TEST_CASE("fit refuses labels outside the class range") {
  for (const int bad : {3, -1, 1 << 30}) {
    INFO(bad);
    data::Dataset d = three_classes(60);
    d.labels(41) = bad;
    Trainer c = classifier();
    CHECK(data_error(c, d, nullptr) == "[fit] training set: labels(41) is " + std::to_string(bad) +
                                           ", outside [0, 3): the network has 3 classes");
  }
}

TEST_CASE("fit names the data set and the entry of a NaN or Inf in inputs or targets") {
  data::Dataset d = sine(100);
  d.x(17, 0) = NAN;
  Trainer a = regressor();
  CHECK(data_error(a, d, nullptr) == "[fit] training set: x(17, 0) is nan; clean the data, or set "
                                     "FitOptions::allow_non_finite to train on it");
  d = sine(100);
  d.y(3, 0) = -INFINITY;
  Trainer b = regressor();
  CHECK(data_error(b, d, nullptr) == "[fit] training set: y(3, 0) is -inf; clean the data, or set "
                                     "FitOptions::allow_non_finite to train on it");
}

TEST_CASE("fit checks the validation set as it checks the training set") {
  const data::Dataset train = sine(100);
  data::Dataset val = sine(50);
  val.x(49, 0) = NAN;
  Trainer a = regressor();
  CHECK(data_error(a, train, &val) ==
        "[fit] validation set: x(49, 0) is nan; clean the data, or set "
        "FitOptions::allow_non_finite to train on it");

  const data::Dataset wide =
      data::regression_2d([](double u, double v) { return u + v; }, {}, 30, 0.0, 1);
  Trainer b = regressor();
  CHECK(data_error(b, train, &wide) ==
        "[fit] validation set: x has 2 columns; the network takes 1 features");

  data::Dataset labels_too_big = three_classes(30);
  labels_too_big.labels(0) = 7;
  labels_too_big.num_classes = 8;
  Trainer c = classifier();
  CHECK(data_error(c, three_classes(60), &labels_too_big) ==
        "[fit] validation set: labels(0) is 7, outside [0, 3): the network has 3 classes");
}

TEST_CASE("a validation set that does not fit the network is refused before training") {
  const data::Dataset train = sine(100);
  data::Dataset empty;
  empty.x = MatrixRM(0, 1);
  empty.y = MatrixRM(0, 1);
  Trainer a = regressor();
  CHECK(data_error(a, train, &empty) == "[fit] validation set: the data set is empty");
  data::Dataset two_outputs = sine(30);
  two_outputs.y = MatrixRM::Zero(30, 2);
  Trainer b = regressor();
  CHECK(data_error(b, train, &two_outputs) ==
        "[fit] validation set: y has 2 columns; the network has 1 outputs");
  const data::Dataset labelled = three_classes(30);
  data::Dataset one_feature = labelled;
  one_feature.x = MatrixRM::Zero(30, 1);
  Trainer c = regressor();
  CHECK(data_error(c, train, &one_feature) ==
        "[fit] validation set: the loss needs regression targets but the data set has class "
        "labels");
}

TEST_CASE("a NaN read from a CSV file is named when fit() meets it") {
  const auto path = std::filesystem::temp_directory_path() / "kiln-data-checks-nan.csv";
  {
    std::ofstream out(path);
    out << "x,y\n0.5,0.25\n1.0,1.0\nnan,0.0\n-1,1\n";
  }
  const MatrixRM table = data::read_csv(path.string(), {.header = true});
  std::filesystem::remove(path);
  data::Dataset d;
  d.x = table.col(0);
  d.y = table.col(1);
  Trainer t = regressor();
  CHECK(data_error(t, d, nullptr, {.epochs = 1, .batch_size = 2, .progress = false}) ==
        "[fit] training set: x(2, 0) is nan; clean the data, or set "
        "FitOptions::allow_non_finite to train on it");
}

TEST_CASE("allow_non_finite trains on what the data holds") {
  const data::Dataset train = sine(100);
  data::Dataset val = sine(50);
  val.y(7, 0) = NAN;
  Trainer t = regressor();
  FitOptions o = kQuiet;
  o.allow_non_finite = true;
  const History h = t.fit(train, &val, o);
  REQUIRE(h.epochs.size() == 2); // epoch 0 (the untrained network) and epoch 1
  CHECK(std::isnan(h.epochs[1].val_loss));
  CHECK(std::isfinite(h.epochs[1].train_loss));
}
