#include "bench/peers/torch_mlp.h"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "bench/peers/eigen_mlp.h"

using namespace kiln::bench;

namespace {

MlpSpec spec_for(Loss loss, std::vector<int> widths, std::vector<Activation> acts) {
  MlpSpec s;
  s.widths = std::move(widths);
  s.activations = std::move(acts);
  s.loss = loss;
  s.max_batch = 5;
  s.adam.lr = 1e-2; // large enough that a wrong update shows within a few steps
  return s;
}

std::vector<float> data_vector(size_t n, uint64_t seed) {
  kiln::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v)
    x = float(rng.uniform(-2, 2));
  return v;
}

// Both peers start from the same weights and must follow the same trajectory; float32 rounding
// differs (summation order, tanh implementations), so parameters agree to a few 1e-5.
void check_parity(const MlpSpec& s, const std::vector<float>& y) {
  const int n = int(y.size()) / s.target_width();
  const auto x = data_vector(size_t(n) * s.inputs(), 5);
  const auto init = pytorch_default_init(s, 21);
  EigenMlp eigen(s);
  TorchMlp torch(s);
  eigen.set_parameters(init);
  torch.set_parameters(init);
  for (int i = 0; i + 5 <= n; i += 5) {
    const float le = eigen.step(x.data() + i * s.inputs(), y.data() + i * s.target_width(), 5);
    const float lt = torch.step(x.data() + i * s.inputs(), y.data() + i * s.target_width(), 5);
    REQUIRE(lt == Approx(le).epsilon(1e-4).margin(1e-6));
  }
  std::vector<float> pe(s.parameter_count()), pt(s.parameter_count());
  eigen.get_parameters(pe);
  torch.get_parameters(pt);
  for (size_t i = 0; i < pe.size(); ++i)
    REQUIRE(pt[i] == Approx(pe[i]).margin(5e-5));
  CHECK(pe != init);

  const DataView<float> data{x.data(), y.data(), n};
  eigen.set_parameters(init);
  torch.set_parameters(init);
  CHECK(torch.run_epochs(data, 3, 5, 9) == Approx(eigen.run_epochs(data, 3, 5, 9)).epsilon(1e-3));
}

} // namespace

TEST_CASE("TorchMlp follows EigenMlp step by step (regression, MSE)") {
  const auto s = spec_for(Loss::kMse, {1, 14, 10, 1},
                          {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity});
  check_parity(s, data_vector(60, 6));
}

TEST_CASE("TorchMlp follows EigenMlp step by step (classification, cross-entropy, relu)") {
  const auto s = spec_for(Loss::kCrossEntropy, {2, 14, 10, 3},
                          {Activation::kTanh, Activation::kRelu, Activation::kIdentity});
  std::vector<float> labels(60);
  for (size_t i = 0; i < labels.size(); ++i)
    labels[i] = float((i * 7) % 3);
  check_parity(s, labels);
}

TEST_CASE("TorchMlp rejects bad parameter counts and batches") {
  const auto s = spec_for(Loss::kMse, {1, 3, 1}, {Activation::kTanh, Activation::kIdentity});
  TorchMlp net(s);
  CHECK_THROWS_WITH(net.set_parameters(std::vector<float>(4)),
                    "[TorchMlp] set_parameters: expected 10 parameters for 1-3-1 "
                    "tanh,identity mse, got 4");
  std::vector<float> out(2), x(10);
  CHECK_THROWS_WITH(net.get_parameters(out),
                    "[TorchMlp] get_parameters: expected room for 10 parameters, got 2");
  CHECK_THROWS_WITH(net.step(x.data(), x.data(), 6),
                    "[TorchMlp] batch must be in [1, 5] (the spec's max_batch), got 6");
}
