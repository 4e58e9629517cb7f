// The padded, fixed-shape peer trains exactly what the generic one does: same losses, same
// weights after steps and whole runs (to float rounding), same evaluation.

#include "bench/peers/eigen_padded_mlp.h"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "bench/peers/eigen_mlp.h"

using namespace kiln::bench;

namespace {

MlpSpec w1_spec() {
  MlpSpec s;
  s.widths = {1, 14, 10, 1};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  s.max_batch = 5;
  return s;
}

MlpSpec w2_spec() {
  MlpSpec s;
  s.widths = {2, 14, 10, 3};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  s.loss = Loss::kCrossEntropy;
  s.max_batch = 5;
  return s;
}

/** Rows of x and targets (labels as floats for cross-entropy). */
struct Data {
  std::vector<float> x, y;
};

Data data_for(const MlpSpec& s, int count) {
  kiln::Rng rng(9);
  Data d;
  for (int i = 0; i < count * s.inputs(); ++i)
    d.x.push_back(float(rng.uniform(-2, 2)));
  for (int i = 0; i < count * s.target_width(); ++i)
    d.y.push_back(s.loss == Loss::kMse ? float(rng.uniform(-1, 1)) : float(rng.below(3)));
  return d;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

} // namespace

TEST_CASE("the padded peer steps, runs and evaluates as the generic one") {
  for (const MlpSpec& s : {w1_spec(), w2_spec()}) {
    INFO(s.describe());
    REQUIRE(padded_mlp_supports(s));
    const Data d = data_for(s, 40);
    EigenPaddedMlp padded(s);
    EigenMlp generic(s);
    const std::vector<float> init = pytorch_default_init(s, 3);
    padded.set_parameters(init);
    generic.set_parameters(init);
    for (int step = 0; step < 8; ++step) {
      const int batch = step % 3 == 2 ? 3 : 5;
      const size_t row = size_t(step) * 5;
      const float a =
          padded.step(d.x.data() + row * s.inputs(), d.y.data() + row * s.target_width(), batch);
      const float b =
          generic.step(d.x.data() + row * s.inputs(), d.y.data() + row * s.target_width(), batch);
      CHECK(a == Approx(b).epsilon(1e-5));
    }
    std::vector<float> pa(init.size()), pb(init.size());
    padded.get_parameters(pa);
    generic.get_parameters(pb);
    CHECK(max_diff(pa, pb) < 1e-5f);
    const DataView<float> view{d.x.data(), d.y.data(), 40};
    CHECK(padded.evaluate(view) == Approx(generic.evaluate(view)).epsilon(1e-5));
    CHECK(padded.run_epochs(view, 3, 5, 7) ==
          Approx(generic.run_epochs(view, 3, 5, 7)).epsilon(1e-4));
    padded.get_parameters(pa);
    generic.get_parameters(pb);
    CHECK(max_diff(pa, pb) < 1e-4f);
  }
}

TEST_CASE("the padded peer takes only its fixed shapes") {
  MlpSpec s = w1_spec();
  s.widths = {1, 17, 10, 1};
  CHECK_FALSE(padded_mlp_supports(s));
  CHECK_THROWS_AS(EigenPaddedMlp(s), kiln::ShapeError);
  s = w1_spec();
  s.widths = {1, 14, 10, 14, 1};
  s.activations.push_back(Activation::kTanh);
  CHECK_FALSE(padded_mlp_supports(s));
}
