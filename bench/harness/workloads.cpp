#include "bench/harness/workloads.h"

#include <cmath>

namespace kiln::bench {

namespace {

constexpr int kPoints = 2000;
constexpr uint64_t kDataSeed = 20240501;
constexpr uint64_t kInitSeed = 1;
constexpr uint64_t kShuffleSeed = 77;

MlpSpec mlp(std::vector<int> widths, std::vector<Activation> activations, Loss loss, int batch) {
  MlpSpec s;
  s.widths = std::move(widths);
  s.activations = std::move(activations);
  s.loss = loss;
  s.max_batch = batch;
  return s;
}

// Input 1, `depth` hidden tanh layers of `width`, output 1 (identity), MSE.
MlpSpec ablation_cell(int width, int depth, int batch) {
  std::vector<int> widths = {1};
  std::vector<Activation> acts;
  for (int i = 0; i < depth; ++i) {
    widths.push_back(width);
    acts.push_back(Activation::kTanh);
  }
  widths.push_back(1);
  acts.push_back(Activation::kIdentity);
  return mlp(std::move(widths), std::move(acts), Loss::kMse, batch);
}

Model with_init(MlpSpec spec, uint64_t seed) {
  auto init = pytorch_default_init(spec, seed);
  return {std::move(spec), std::move(init)};
}

} // namespace

Dataset sine_regression(int count, uint64_t seed) {
  Rng rng(seed);
  Dataset d{std::vector<float>(count), std::vector<float>(count), count};
  for (int i = 0; i < count; ++i) {
    const double x = rng.uniform(-3.0, 3.0);
    d.x[i] = float(x);
    d.y[i] = float(std::sin(x) + rng.normal(0.0, 0.2));
  }
  return d;
}

Dataset level_set_classes(int count, uint64_t seed) {
  Rng rng(seed);
  Dataset d{std::vector<float>(2 * size_t(count)), std::vector<float>(count), count};
  for (int i = 0; i < count; ++i) {
    const double a = rng.uniform(-2.0, 2.0), b = rng.uniform(-2.0, 2.0);
    const double r = std::sqrt(a * a + b * b);
    d.x[2 * i] = float(a);
    d.x[2 * i + 1] = float(b);
    d.y[i] = r < 1.0 ? 0.0f : r < 1.6 ? 1.0f : 2.0f;
  }
  return d;
}

Dataset gaussian_classes(int count, int inputs, int classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> teacher(size_t(inputs) * classes);
  for (auto& t : teacher)
    t = rng.normal();
  Dataset d{std::vector<float>(size_t(count) * inputs), std::vector<float>(count), count};
  for (int i = 0; i < count; ++i) {
    float* x = d.x.data() + size_t(i) * inputs;
    for (int k = 0; k < inputs; ++k)
      x[k] = float(rng.normal());
    int best = 0;
    double best_score = -1e300;
    for (int c = 0; c < classes; ++c) {
      double score = 0;
      for (int k = 0; k < inputs; ++k)
        score += teacher[size_t(c) * inputs + k] * x[k];
      if (score > best_score)
        best_score = score, best = c;
    }
    d.y[i] = float(best);
  }
  return d;
}

Workload w1_regression() {
  Workload w;
  w.name = "W1";
  w.step = with_init(mlp({1, 14, 10, 1},
                         {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity},
                         Loss::kMse, 5),
                     kInitSeed);
  w.data = sine_regression(kPoints, kDataSeed);
  w.batch = 5;
  w.threads = {1};
  w.run_name = "run";
  w.runs = {w.step};
  w.epochs = 20;
  w.eval_each_epoch = true;
  w.shuffle_seed = kShuffleSeed;
  return w;
}

Workload w2_classification() {
  Workload w;
  w.name = "W2";
  w.step = with_init(mlp({2, 14, 10, 3},
                         {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity},
                         Loss::kCrossEntropy, 5),
                     kInitSeed);
  w.data = level_set_classes(kPoints, kDataSeed);
  w.batch = 5;
  w.threads = {1};
  return w;
}

Workload w3_ablation() {
  Workload w;
  w.name = "W3";
  w.step = with_init(ablation_cell(32, 32, 5), kInitSeed);
  w.data = sine_regression(kPoints, kDataSeed);
  w.batch = 5;
  w.threads = {1};
  w.run_name = "grid";
  uint64_t seed = kInitSeed;
  for (int width : {2, 4, 8, 16, 32})
    for (int depth : {1, 2, 4, 8, 16, 32})
      w.runs.push_back(with_init(ablation_cell(width, depth, 5), seed++));
  w.epochs = 10;
  w.shuffle_seed = kShuffleSeed;
  return w;
}

Workload w4_large() {
  Workload w;
  w.name = "W4";
  const int batch = 1024;
  w.step = with_init(mlp({64, 256, 256, 256, 256, 10},
                         {Activation::kRelu, Activation::kRelu, Activation::kRelu,
                          Activation::kRelu, Activation::kIdentity},
                         Loss::kCrossEntropy, batch),
                     kInitSeed);
  w.data = gaussian_classes(4 * batch, 64, 10, kDataSeed);
  w.batch = batch;
  w.threads = {1, 2};
  w.report_flops = true;
  return w;
}

std::vector<Workload> all_workloads() {
  std::vector<Workload> all;
  all.push_back(w1_regression());
  all.push_back(w2_classification());
  all.push_back(w3_ablation());
  all.push_back(w4_large());
  return all;
}

} // namespace kiln::bench
