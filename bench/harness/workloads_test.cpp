#include "bench/harness/workloads.h"

#include <cmath>
#include <set>

#include <catch2/catch.hpp>

using namespace kiln::bench;

TEST_CASE("W1 is the course's 1-14-10-1 regression: 2000 noisy sine points, 20 epochs") {
  const Workload w = w1_regression();
  CHECK(w.step.spec.describe() == "1-14-10-1 tanh,sigmoid,identity mse");
  CHECK(w.batch == 5);
  CHECK(w.step.spec.max_batch == 5);
  CHECK(w.step.spec.adam.lr == 1e-3);
  REQUIRE(w.data.count == 2000);
  double noise = 0;
  for (int i = 0; i < w.data.count; ++i) {
    REQUIRE(std::abs(w.data.x[i]) <= 3.0f);
    const double r = w.data.y[i] - std::sin(double(w.data.x[i]));
    noise += r * r;
  }
  CHECK(std::sqrt(noise / w.data.count) == Approx(0.2).epsilon(0.1));
  CHECK(w.run_name == "run");
  REQUIRE(w.runs.size() == 1);
  CHECK(w.runs[0].init == w.step.init);
  CHECK(w.epochs == 20);
  CHECK(int(w.step.init.size()) == w.step.spec.parameter_count());
}

TEST_CASE("W2 classifies 2D points into 3 level-set classes with cross-entropy") {
  const Workload w = w2_classification();
  CHECK(w.step.spec.describe() == "2-14-10-3 tanh,sigmoid,identity cross_entropy");
  REQUIRE(w.data.x.size() == 2 * w.data.y.size());
  std::set<float> labels(w.data.y.begin(), w.data.y.end());
  CHECK(labels == std::set<float>{0.0f, 1.0f, 2.0f});
  CHECK(w.run_name.empty());
}

TEST_CASE("W3 is the ablation: its step is the 32x32 cell, its run the 30-cell grid") {
  const Workload w = w3_ablation();
  CHECK(w.step.spec.layers() == 33);
  CHECK(w.step.spec.widths[16] == 32);
  CHECK(w.step.spec.activations[31] == Activation::kTanh);
  CHECK(w.step.spec.activations[32] == Activation::kIdentity);
  REQUIRE(w.runs.size() == 30);
  CHECK(w.runs.front().spec.describe() == "1-2-1 tanh,identity mse");
  CHECK(w.runs.back().spec.parameter_count() == w.step.spec.parameter_count());
  CHECK(w.runs[0].init != w.runs[6].init);
  CHECK(w.epochs == 10);
}

TEST_CASE("W4 is the large ReLU MLP at batch 1024, 1 and 2 threads, with flops") {
  const Workload w = w4_large();
  CHECK(w.step.spec.describe() == "64-256-256-256-256-10 relu,relu,relu,relu,identity "
                                  "cross_entropy");
  CHECK(w.batch == 1024);
  CHECK(w.threads == std::vector<int>{1, 2});
  CHECK(w.report_flops);
  CHECK(w.step.spec.step_flops(1024) == 6.0 * 1024 * (64 * 256 + 3 * 256 * 256 + 256 * 10));
  std::set<float> labels(w.data.y.begin(), w.data.y.end());
  CHECK(labels.size() == 10);
}

TEST_CASE("Workloads are deterministic") {
  const Workload a = w1_regression(), b = w1_regression();
  CHECK(a.data.x == b.data.x);
  CHECK(a.data.y == b.data.y);
  CHECK(a.step.init == b.step.init);
  CHECK(all_workloads().size() == 4);
}
