// The Trainer: the fused epoch against a host loop of steps, convergence, NaN handling,
// checkpoints that resume exactly, early stopping, logs and error messages.

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/data.h"
#include "trainer/trainer.h"

using namespace kiln;
using Catch::Matchers::Contains;

namespace {

nn::Sequential small_regression_net() {
  return nn::Sequential{nn::Linear(1, 8), nn::Tanh(), nn::Linear(8, 6), nn::Sigmoid(),
                        nn::Linear(6, 1)};
}

nn::Sequential small_classifier() {
  return nn::Sequential{nn::Linear(2, 10), nn::Tanh(), nn::Linear(10, 3)};
}

std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "kiln-trainer-test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

double max_param_difference(const Trainer& a, const Trainer& b) {
  double worst = 0;
  for (const std::string& p : a.param_names())
    worst = std::max(worst, static_cast<double>((a.param(p) - b.param(p)).cwiseAbs().maxCoeff()));
  return worst;
}

} // namespace

TEST_CASE("the fused epoch runs the same steps as a host loop over mini-batches") {
  const data::Dataset train =
      data::regression_1d([](double x) { return std::sin(x); }, -3, 3, 203, 0.2, 1);
  for (const bool classify : {false, true}) {
    INFO((classify ? "classification" : "regression"));
    const data::Dataset d = classify ? data::level_set_2d() : train;
    const data::Dataset small = d.subset([&] {
      std::vector<int> idx;
      for (int i = 0; i < 203; ++i)
        idx.push_back(i);
      return idx;
    }());
    auto make = [&] {
      return classify ? Trainer(small_classifier(), Loss::cross_entropy(),
                                std::make_shared<optim::Adam>(1e-2))
                      : Trainer(small_regression_net(), Loss::mse(),
                                std::make_shared<optim::Adam>(1e-2));
    };
    Trainer fused = make(), host = make();
    const FitOptions o{.epochs = 3, .batch_size = 7, .seed = 5, .progress = false};
    FitOptions oh = o;
    oh.fused_epoch = false;
    const History hf = fused.fit(small, nullptr, o);
    const History hh = host.fit(small, nullptr, oh);
    CHECK(max_param_difference(fused, host) <= 1e-6);
    REQUIRE(hf.epochs.size() == 4);
    CHECK(std::isnan(hf.epochs[0].running_loss)); // epoch 0: the untrained network
    CHECK(hf.epochs[0].train_loss == Approx(hh.epochs[0].train_loss).epsilon(1e-6));
    for (size_t e = 1; e < hf.epochs.size(); ++e)
      CHECK(hf.epochs[e].running_loss == Approx(hh.epochs[e].running_loss).epsilon(1e-5));
  }
}

TEST_CASE("training the course's regression network lowers the validation loss") {
  auto f = [](double x) { return std::sin(x); };
  const data::Dataset train = data::regression_1d(f, -3, 3, 400, 0.2, 3);
  const data::Dataset val = data::regression_1d(f, -3, 3, 200, 0.2, 4);
  nn::Sequential net{nn::Linear(1, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 1)};
  Trainer t(net, Loss::mse(), std::make_shared<optim::Adam>(3e-3));
  t.fit(train, &val, {.epochs = 0, .seed = 1, .progress = false}); // builds the untrained network
  const double untrained = t.evaluate(val).loss;
  const History h =
      t.fit(train, &val, {.epochs = 30, .batch_size = 5, .seed = 1, .progress = false});
  // The history starts with the untrained network (epoch 0), as the course's notebooks.
  REQUIRE(h.epochs.size() == 31);
  CHECK(h.epochs.front().epoch == 0);
  CHECK(h.epochs.front().val_loss == Approx(untrained).epsilon(1e-6));
  CHECK(h.epochs.back().epoch == 30);
  CHECK(h.epochs.back().val_loss < 0.2 * untrained);
  CHECK(h.epochs.back().val_loss < 0.06); // the noise floor is 0.04
  CHECK(t.evaluate(val).loss == Approx(h.epochs.back().val_loss).epsilon(1e-6));
  const MatrixRM p = t.predict(val.x);
  CHECK(p.rows() == val.rows());
  CHECK(((p - val.y).array().square().mean()) == Approx(h.epochs.back().val_loss).epsilon(1e-4));
}

TEST_CASE("a NaN in the loss stops training and rolls back to the last good epoch") {
  const data::Dataset train =
      data::regression_1d([](double x) { return std::sin(x); }, -3, 3, 100, 0.2, 3);
  Trainer t(small_regression_net(), Loss::mse(), std::make_shared<optim::SGD>(1e-3));
  t.fit(train, nullptr, {.epochs = 1, .batch_size = 10, .progress = false});
  const MatrixRM good = t.param("0.weight");
  // An absurd learning rate makes the weights overflow within one epoch.
  FitOptions bad{.epochs = 5, .batch_size = 10, .progress = false};
  bad.schedule = optim::Schedule::exponential(1e30);
  CHECK_THROWS_WITH(t.fit(train, nullptr, bad),
                    Contains("[fit] the training loss became") &&
                        Contains("the weights are back at the end of epoch"));
  CHECK(t.epochs_done() >= 1);
  CHECK(std::isfinite(t.param("0.weight").sum()));
  CHECK(t.param("0.weight").isApprox(good) == (t.epochs_done() == 1));
}

TEST_CASE("a run resumed from a checkpoint ends with the same weights as an uninterrupted run") {
  const data::Dataset d = data::level_set_2d();
  const std::string ckpt = temp_path("resume.safetensors");
  Trainer whole(small_classifier(), Loss::cross_entropy(), std::make_shared<optim::Adam>(5e-3));
  whole.fit(d, nullptr, {.epochs = 4, .batch_size = 16, .seed = 9, .progress = false});

  Trainer first(small_classifier(), Loss::cross_entropy(), std::make_shared<optim::Adam>(5e-3));
  first.fit(d, nullptr,
            {.epochs = 2, .batch_size = 16, .seed = 9, .progress = false, .checkpoint = ckpt});
  Trainer resumed(small_classifier(), Loss::cross_entropy(), std::make_shared<optim::Adam>(5e-3));
  resumed.load(ckpt);
  resumed.fit(d, nullptr, {.epochs = 2, .batch_size = 16, .seed = 9, .progress = false});
  CHECK(resumed.epochs_done() == 4);
  CHECK(max_param_difference(whole, resumed) == 0.0);
}

TEST_CASE("early stopping, the CSV log and the history") {
  const data::Dataset d = data::moons(300, 0.1, 2);
  const std::string log = temp_path("log.csv");
  Trainer t(nn::Sequential{nn::Linear(2, 16), nn::ReLU(), nn::Linear(16, 2)}, Loss::cross_entropy(),
            std::make_shared<optim::Adam>(1e-2));
  int calls = 0;
  const History h =
      t.fit(d, &d,
            {.epochs = 10,
             .batch_size = 10,
             .progress = false,
             .csv_log = log,
             .early_stop = [&](const EpochStats& s) { return ++calls == 3 && s.val_acc > 0.0; }});
  CHECK(h.epochs.size() == 4); // epoch 0, then three epochs
  CHECK(h.stopped_early);
  CHECK(h.epochs[0].epoch == 0);
  CHECK(h.epochs[3].epoch == 3);
  CHECK(h.epochs[3].val_acc > 0.7);
  std::ifstream in(log);
  std::string header, line;
  std::getline(in, header);
  CHECK(header ==
        "epoch,running_loss,running_acc,train_loss,train_acc,val_loss,val_acc,lr,seconds");
  int rows = 0;
  while (std::getline(in, line))
    ++rows;
  CHECK(rows == 4);
}

TEST_CASE("Trainer error messages") {
  const data::Dataset reg = data::regression_1d([](double x) { return x; }, -1, 1, 20, 0.0, 1);
  const data::Dataset cls = data::moons(20, 0.1, 1);
  Trainer ce(small_classifier(), Loss::cross_entropy(), std::make_shared<optim::SGD>(0.1));
  CHECK_THROWS_WITH(ce.fit(reg, nullptr, {.progress = false}),
                    Contains("[fit] the loss 'cross_entropy' needs class labels"));
  CHECK_THROWS_WITH(ce.predict(reg.x), Contains("[Trainer] predict() before fit()"));
  CHECK_THROWS_WITH(ce.fit(cls, nullptr, {.batch_size = 0}), Contains("batch_size >= 1"));
  Trainer mse(small_regression_net(), Loss::mse(), std::make_shared<optim::SGD>(0.1));
  mse.fit(reg, nullptr, {.epochs = 1, .progress = false});
  const data::Dataset wide =
      data::regression_2d([](double a, double b) { return a + b; }, {}, 10, 0.0, 1);
  CHECK_THROWS_WITH(mse.fit(wide, nullptr, {.epochs = 1, .progress = false}),
                    Contains("the network was built for 1 features"));
  CHECK_THROWS_WITH(mse.load(temp_path("missing.safetensors")), Contains("missing.safetensors"));
}
