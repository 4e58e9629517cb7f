// Trainer checkpoints: checked in full before anything changes (a refused load leaves the
// weights as they were), exact shapes, strict metadata, finite values, PyTorch's layout (a
// torch state_dict loads with load_weights), logs that resume, and no temporary files left over.

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "io/data.h"
#include "io/safetensors.h"
#include "tests/support/temp_dir.h"
#include "trainer/trainer.h"

using namespace kiln;
using Catch::Matchers::Contains;

namespace {

nn::Sequential net_2_8_3() {
  return nn::Sequential{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 3)};
}
Trainer make() {
  return Trainer(net_2_8_3(), Loss::cross_entropy(), std::make_shared<optim::Adam>(1e-2));
}
const FitOptions kOne{.epochs = 1, .batch_size = 16, .seed = 3, .progress = false};

std::map<std::string, MatrixRM> params_of(const Trainer& t) {
  std::map<std::string, MatrixRM> out;
  for (const std::string& p : t.param_names())
    out.emplace(p, t.param(p));
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no DataError)";
}

/** A trained trainer's checkpoint, edited by `edit`, saved to `path`. */
void tampered(const std::string& good, const std::string& path,
              const std::function<void(Safetensors&)>& edit) {
  Safetensors f = load_safetensors(good);
  edit(f);
  save_safetensors(path, f.tensors, f.metadata);
}

HostTensor transposed(const HostTensor& t) {
  const auto v = t.view<float>();
  std::vector<float> out(v.size());
  const int64_t rows = t.shape[0], cols = t.shape[1];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[static_cast<size_t>(c * rows + r)] = v[static_cast<size_t>(r * cols + c)];
  return HostTensor::of<float>({cols, rows}, out);
}

} // namespace

TEST_CASE("a checkpoint is saved in PyTorch's layout") {
  const test::TempDir dir("ckpt-layout");
  const data::Dataset d = data::level_set_2d();
  Trainer t = make();
  t.fit(d, nullptr, kOne);
  t.save(dir.file("c.safetensors"));
  const Safetensors f = load_safetensors(dir.file("c.safetensors"));
  CHECK(f.tensors.at("0.weight").shape == std::vector<int64_t>{8, 2});
  CHECK(f.tensors.at("0.bias").shape == std::vector<int64_t>{8});
  CHECK(f.tensors.at("2.weight").shape == std::vector<int64_t>{3, 8});
  CHECK(f.tensors.at("2.bias").shape == std::vector<int64_t>{3});
  CHECK(f.tensors.at("0.bias.exp_avg").shape == std::vector<int64_t>{8});
  CHECK(f.tensors.at("step").shape.empty());
  CHECK(f.tensors.at("step").view<float>()[0] == std::ceil(d.rows() / 16.0)); // steps taken
  CHECK(f.metadata.at("epochs_done") == "1");
  const MatrixRM b = t.param("0.bias");
  CHECK(b.rows() == 8);
  CHECK(b.cols() == 1);
  CHECK(f.tensors.at("0.bias").to_vector<float>() ==
        std::vector<float>(b.data(), b.data() + b.size()));
}

TEST_CASE("a transposed or wrongly shaped weight is refused, naming the tensor and both shapes") {
  const test::TempDir dir("ckpt-shape");
  Trainer t = make();
  t.fit(data::level_set_2d(), nullptr, kOne);
  const std::string good = dir.file("good.safetensors"), bad = dir.file("bad.safetensors");
  t.save(good);
  // The same element count: comparing counts let this through and predicted garbage.
  tampered(good, bad,
           [](Safetensors& f) { f.tensors["0.weight"] = transposed(f.tensors["0.weight"]); });
  t.fit(data::level_set_2d(), nullptr, kOne); // the weights move on from the checkpoint
  const auto before = params_of(t);
  const std::string want =
      "[checkpoint] " + bad + ": tensor '0.weight' is [2, 8], the network needs [8, 2]";
  CHECK(error_of([&] { t.load(bad); }) == want);
  CHECK(params_of(t) == before);
  CHECK(t.epochs_done() == 2);
  Trainer fresh = make(); // before the first fit() too
  CHECK(error_of([&] { fresh.load(bad); }) == want);
  CHECK(error_of([&] { fresh.load_weights(bad); }) == want);
}

TEST_CASE("a checkpoint load that throws leaves every weight as it was") {
  const test::TempDir dir("ckpt-atomic");
  Trainer t = make();
  t.fit(data::level_set_2d(), nullptr, kOne);
  const std::string good = dir.file("good.safetensors"), bad = dir.file("bad.safetensors");
  t.save(good);
  t.fit(data::level_set_2d(), nullptr, kOne);
  const auto before = params_of(t);
  const auto f32 = [](std::vector<int64_t> shape, float v) {
    std::vector<float> values(static_cast<size_t>(HostTensor{ir::DType::F32, shape, {}}.numel()),
                              v);
    return HostTensor::of<float>(std::move(shape), values);
  };
  struct Case {
    const char* what;
    std::function<void(Safetensors&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a missing tensor, after good ones", [](Safetensors& f) { f.tensors.erase("2.bias"); },
       "no tensor '2.bias', a parameter of the network (f32 [3])"},
      {"a bias as [1, n]",
       [&](Safetensors& f) {
         f.tensors["2.bias"] = f32({1, 3}, 0.5f);
       },
       "tensor '2.bias' is [1, 3], the network needs [3]"},
      {"f64 weights",
       [](Safetensors& f) {
         f.tensors["2.weight"] = HostTensor::of<double>({3, 8}, std::vector<double>(24, 0.5));
       },
       "tensor '2.weight' is f64 [3, 8] (24 values); the network needs f32 [3, 8] (convert it, "
       "e.g. tensor.float() in PyTorch)"},
      {"a NaN weight",
       [&](Safetensors& f) {
         f.tensors["2.bias"] = f32({3}, 0.5f);
         f.tensors["2.bias"].view<float>()[1] = NAN;
       },
       "tensor '2.bias' holds nan at index 1; checkpoint values must be finite"},
      {"a NaN in the optimizer's state",
       [&](Safetensors& f) { f.tensors["2.bias.exp_avg_sq"] = f32({3}, INFINITY); },
       "tensor '2.bias.exp_avg_sq' holds inf at index 0; checkpoint values must be finite"},
      {"missing optimizer state", [](Safetensors& f) { f.tensors.erase("step"); },
       "no tensor 'step' of the optimizer's state; a file of weights only loads with "
       "Trainer::load_weights()"},
      {"a tensor the network does not have",
       [&](Safetensors& f) {
         f.tensors["4.weight"] = f32({3, 3}, 0.f);
       },
       "tensor '4.weight' is not a parameter of the network (it has 0.weight, 0.bias, 2.weight, "
       "2.bias) nor optimizer state"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    tampered(good, bad, [&](Safetensors& f) {
      for (auto& [name, tensor] : f.tensors)
        if (name.find('.') != std::string::npos && tensor.dtype == ir::DType::F32)
          for (float& v : tensor.view<float>())
            v += 1.0f; // every good tensor differs from the trainer's, so a partial load shows
      c.edit(f);
    });
    CHECK(error_of([&] { t.load(bad); }) == "[checkpoint] " + bad + ": " + c.message);
    CHECK(params_of(t) == before);
    CHECK(t.epochs_done() == 2);
  }
}

TEST_CASE("epochs_done must be a whole number") {
  const test::TempDir dir("ckpt-epochs");
  Trainer t = make();
  t.fit(data::level_set_2d(), nullptr, kOne);
  const std::string good = dir.file("good.safetensors"), bad = dir.file("bad.safetensors");
  t.save(good);
  for (const std::string text : {"abc", "-5", "2.7", "", "+3", " 3", "3 ", "2147483648", "1e3"}) {
    INFO("'" << text << "'");
    tampered(good, bad, [&](Safetensors& f) { f.metadata["epochs_done"] = text; });
    CHECK(error_of([&] { t.load(bad); }) ==
          "[checkpoint] " + bad + ": metadata epochs_done is '" + text +
              "', expected a whole number of epochs (digits only, below 2^31)");
    CHECK(t.epochs_done() == 1);
  }
  tampered(good, bad, [&](Safetensors& f) { f.metadata["epochs_done"] = "2147483647"; });
  t.load(bad);
  CHECK(t.epochs_done() == 2147483647);
}

TEST_CASE("a PyTorch state_dict loads as weights only") {
  // What safetensors.torch.save_file(nn.Sequential(nn.Linear(2, 8), nn.Tanh(),
  // nn.Linear(8, 3)).state_dict(), path) writes: kiln's writer makes the reference writer's bytes
  // (tests/io/safetensors/interop_test.cpp).
  const test::TempDir dir("ckpt-torch");
  std::map<std::string, HostTensor> sd;
  auto values = [](int64_t n, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[static_cast<size_t>(i)] = scale * static_cast<float>((i * 7) % 11 - 5);
    return v;
  };
  sd["0.weight"] = HostTensor::of<float>({8, 2}, values(16, 0.1f));
  sd["0.bias"] = HostTensor::of<float>({8}, values(8, 0.05f));
  sd["2.weight"] = HostTensor::of<float>({3, 8}, values(24, 0.2f));
  sd["2.bias"] = HostTensor::of<float>({3}, values(3, 0.3f));
  const std::string path = dir.file("torch.safetensors");
  save_safetensors(path, sd, {{"format", "pt"}});

  Trainer t = make();
  CHECK(error_of([&] { t.load(path); }) ==
        "[checkpoint] " + path +
            ": no tensor 'step' of the optimizer's state; a file of weights only loads with "
            "Trainer::load_weights()");
  t.load_weights(path);
  t.fit(data::level_set_2d(), nullptr, {.epochs = 0, .progress = false}); // builds the network
  CHECK(t.epochs_done() == 0);
  const Eigen::Map<const MatrixRM> w0(sd["0.weight"].view<float>().data(), 8, 2),
      w2(sd["2.weight"].view<float>().data(), 3, 8);
  const Eigen::Map<const Eigen::VectorXf> b0(sd["0.bias"].view<float>().data(), 8),
      b2(sd["2.bias"].view<float>().data(), 3);
  CHECK(t.param("0.weight") == w0);
  CHECK(t.param("2.bias") == MatrixRM(b2));
  MatrixRM x(2, 2);
  x << 0.5f, -1.0f, 2.0f, 0.25f;
  const MatrixRM got = t.predict(x);
  for (int r = 0; r < 2; ++r) {
    const Eigen::VectorXf h = (w0 * x.row(r).transpose() + b0).array().tanh();
    const Eigen::VectorXf want = w2 * h + b2;
    for (int k = 0; k < 3; ++k)
      CHECK(got(r, k) == Approx(want(k)).epsilon(1e-5));
  }

  // Part of the optimizer's state is not a state at all.
  sd["0.weight.exp_avg"] = sd["0.weight"];
  save_safetensors(path, sd);
  CHECK(error_of([&] { t.load_weights(path); }) ==
        "[checkpoint] " + path +
            ": no tensor 'step' of the optimizer's state (the file has part of it)");
}

TEST_CASE("a resumed run appends to its CSV log and cleans up after killed saves") {
  const test::TempDir dir("ckpt-resume");
  const std::string ckpt = dir.file("run.safetensors"), log = dir.file("log.csv");
  const data::Dataset d = data::level_set_2d();
  FitOptions o{.epochs = 3, .batch_size = 16, .seed = 3, .progress = false, .csv_log = log};
  o.checkpoint = ckpt;
  Trainer first = make();
  first.fit(d, nullptr, o);
  std::filesystem::copy_file(ckpt, dir.file("epoch3.safetensors"));
  first.fit(d, nullptr, o); // epochs 4 to 6, appended
  // A save killed between creating and renaming its temporary file.
  const pid_t child = ::fork();
  if (child == 0)
    ::_exit(0);
  ::waitpid(child, nullptr, 0);
  const std::string stale = dir.file(".run.safetensors.tmp-" + std::to_string(child) + "-0");
  std::ofstream(stale) << "half a checkpoint";

  // Resumed from epoch 3: the log keeps epochs 0 (before training) to 3 and goes on from there;
  // the second fit's own epoch-0 row (the network after epoch 3) is not logged twice.
  Trainer resumed = make();
  resumed.load(dir.file("epoch3.safetensors"));
  o.epochs = 2;
  resumed.fit(d, nullptr, o);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  CHECK(line == "epoch,running_loss,running_acc,train_loss,train_acc,val_loss,val_acc,lr,seconds");
  std::vector<int> epochs;
  while (std::getline(in, line))
    epochs.push_back(std::stoi(line.substr(0, line.find(','))));
  CHECK(epochs == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK_FALSE(std::filesystem::exists(stale));

  // A file that is not a log is not appended to.
  std::ofstream(dir.file("notes.csv")) << "my,own,data\n1,2,3\n";
  o.csv_log = dir.file("notes.csv");
  CHECK_THROWS_WITH(resumed.fit(d, nullptr, o),
                    "[fit] " + dir.file("notes.csv") +
                        ": will not append to a file that is not a kiln training log (its first "
                        "line is 'my,own,data')");
}
