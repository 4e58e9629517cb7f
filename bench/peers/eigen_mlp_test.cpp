#include "bench/peers/eigen_mlp.h"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "base/error.h"

// Counts heap allocations, so the test can check that a training step makes none. malloc itself
// is replaced (glibc allows it), since Eigen allocates its temporaries with malloc, not new.
static std::atomic<long> g_allocations{0};
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);
void* malloc(size_t n) {
  ++g_allocations;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  ++g_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  ++g_allocations;
  return __libc_realloc(p, n);
}
void* memalign(size_t alignment, size_t n) {
  ++g_allocations;
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  return memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  *out = memalign(alignment, n);
  return *out ? 0 : ENOMEM;
}
void free(void* p) {
  __libc_free(p);
}
}

using namespace kiln::bench;

namespace {

MlpSpec regression_spec() { // every activation once, MSE on two outputs
  MlpSpec s;
  s.widths = {3, 6, 5, 4, 2};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kRelu,
                   Activation::kIdentity};
  s.max_batch = 4;
  return s;
}

MlpSpec classification_spec() {
  MlpSpec s;
  s.widths = {2, 7, 5, 3};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  s.loss = Loss::kCrossEntropy;
  s.max_batch = 5;
  return s;
}

template <typename T>
std::vector<T> random_vector(size_t n, uint64_t seed, double scale = 1.0) {
  kiln::Rng rng(seed);
  std::vector<T> v(n);
  for (auto& x : v)
    x = T(scale * rng.normal());
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

// Taylor test: with g the computed gradient and d a random direction,
//   r1(h) = |L(p + h d) - L(p)| = O(h),  r2(h) = |L(p + h d) - L(p) - h g.d| = O(h^2).
// Halving h must halve r1 and quarter r2; a wrong gradient leaves r2 at O(h).
void check_taylor(const MlpSpec& spec, const std::vector<double>& x,
                  const std::vector<double>& target, int batch) {
  EigenMlpT<double> net(spec);
  const auto p = to_double(pytorch_default_init(spec, 7));
  net.set_parameters(p);
  const double l0 = net.compute_gradient(x.data(), target.data(), batch);
  const std::vector<double> g(net.gradient().begin(), net.gradient().end());
  const auto d = random_vector<double>(p.size(), 99);
  double gd = 0;
  for (size_t i = 0; i < p.size(); ++i)
    gd += g[i] * d[i];
  REQUIRE(std::abs(gd) > 1e-6); // a vanishing directional derivative would make r1 = O(h^2)

  std::vector<double> r1, r2;
  std::vector<double> moved(p.size());
  for (double h = 1e-3; h > 1e-3 / 40; h /= 2) {
    for (size_t i = 0; i < p.size(); ++i)
      moved[i] = p[i] + h * d[i];
    net.set_parameters(moved);
    const double l = net.loss(x.data(), target.data(), batch);
    r1.push_back(std::abs(l - l0));
    r2.push_back(std::abs(l - l0 - h * gd));
  }
  for (size_t k = 1; k < r1.size(); ++k) {
    INFO("h step " << k << ": r1 " << r1[k - 1] << " -> " << r1[k] << ", r2 " << r2[k - 1] << " -> "
                   << r2[k]);
    CHECK(std::log2(r1[k - 1] / r1[k]) == Approx(1.0).margin(0.15));
    CHECK(std::log2(r2[k - 1] / r2[k]) == Approx(2.0).margin(0.15));
  }
}

} // namespace

TEST_CASE("MlpSpec counts parameters and flops in PyTorch's layout") {
  MlpSpec s;
  s.widths = {1, 14, 10, 1};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  CHECK(s.parameter_count() == 14 * 1 + 14 + 10 * 14 + 10 + 1 * 10 + 1);
  CHECK(s.weight_offset(1) == 28);
  CHECK(s.weight_offset(2) == 28 + 150);
  CHECK(s.step_flops(5) == 6.0 * 5 * (1 * 14 + 14 * 10 + 10 * 1));
  CHECK(s.describe() == "1-14-10-1 tanh,sigmoid,identity mse");
}

TEST_CASE("pytorch_default_init draws U(-1/sqrt(fan_in), 1/sqrt(fan_in)) per layer") {
  MlpSpec s = regression_spec();
  const auto a = pytorch_default_init(s, 3);
  CHECK(a == pytorch_default_init(s, 3));
  CHECK(a != pytorch_default_init(s, 4));
  for (int l = 0; l < s.layers(); ++l) {
    const float bound = 1.0f / std::sqrt(float(s.widths[l]));
    float largest = 0;
    for (int i = s.weight_offset(l); i < s.weight_offset(l + 1); ++i)
      largest = std::max(largest, std::abs(a[i]));
    CHECK(largest <= bound);
    CHECK(largest > 0.5f * bound); // spread over the range, not squeezed near 0
  }
}

TEST_CASE("EigenMlp gradients pass the Taylor test (MSE, all activations)") {
  const MlpSpec s = regression_spec();
  const int batch = 4;
  check_taylor(s, random_vector<double>(batch * s.inputs(), 1),
               random_vector<double>(batch * s.outputs(), 2), batch);
}

TEST_CASE("EigenMlp gradients pass the Taylor test (cross-entropy)") {
  const MlpSpec s = classification_spec();
  const std::vector<double> labels = {0, 2, 1, 2, 0};
  check_taylor(s, random_vector<double>(5 * s.inputs(), 3), labels, 5);
}

TEST_CASE("EigenMlp gradients pass the Taylor test (single input and output, batch 1)") {
  // Vector operands take Eigen's outer-product and matrix-vector paths: in == 1, out == 1 and
  // a batch of one each select a different one.
  MlpSpec s;
  s.widths = {1, 8, 6, 1};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  s.max_batch = 3;
  for (int batch : {1, 3}) {
    INFO("batch " << batch);
    check_taylor(s, random_vector<double>(batch, 4), random_vector<double>(batch, 8), batch);
  }
}

TEST_CASE("EigenMlp's cross-entropy matches log-softmax by hand") {
  MlpSpec s;
  s.widths = {2, 3};
  s.activations = {Activation::kIdentity};
  s.loss = Loss::kCrossEntropy;
  s.max_batch = 2;
  EigenMlpT<double> net(s);
  // W = I-like rows, b = 0: logits are (x0, x1, x0 + x1).
  net.set_parameters(std::vector<double>{1, 0, 0, 1, 1, 1, 0, 0, 0});
  const std::vector<double> x = {1.0, 2.0, -1.0, 0.5}, labels = {2, 0};
  auto nll = [](double a, double b, double c, double picked) {
    return std::log(std::exp(a) + std::exp(b) + std::exp(c)) - picked;
  };
  const double expected = 0.5 * (nll(1, 2, 3, 3) + nll(-1, 0.5, -0.5, -1));
  CHECK(net.loss(x.data(), labels.data(), 2) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("EigenMlp's forward pass and MSE match the formula by hand") {
  MlpSpec s; // 1 -> 2 -> 1: both products have a vector operand
  s.widths = {1, 2, 1};
  s.activations = {Activation::kTanh, Activation::kIdentity};
  s.max_batch = 2;
  EigenMlpT<double> net(s);
  // W1 = [0.5; -1], b1 = [0.1; 0.2], W2 = [2, 3], b2 = -0.5
  net.set_parameters(std::vector<double>{0.5, -1, 0.1, 0.2, 2, 3, -0.5});
  const std::vector<double> x = {1.0, -2.0}, t = {0.3, -0.4};
  auto y = [](double v) { return 2 * std::tanh(0.5 * v + 0.1) + 3 * std::tanh(-v + 0.2) - 0.5; };
  const double expected = 0.5 * (std::pow(y(1.0) - 0.3, 2) + std::pow(y(-2.0) + 0.4, 2));
  CHECK(net.loss(x.data(), t.data(), 2) == Approx(expected).epsilon(1e-12));
  CHECK(net.loss(x.data(), t.data(), 1) == Approx(std::pow(y(1.0) - 0.3, 2)).epsilon(1e-12));
}

TEST_CASE("EigenMlp's Adam follows the formula on a fixed gradient sequence") {
  MlpSpec s = regression_spec();
  s.adam = {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6};
  EigenMlpT<double> net(s);
  EigenMlp net32(s);
  const auto p0 = pytorch_default_init(s, 11);
  net.set_parameters(to_double(p0));
  net32.set_parameters(p0);
  const size_t n = p0.size();
  std::vector<double> p = to_double(p0), m(n, 0.0), v(n, 0.0);
  for (int t = 1; t <= 6; ++t) {
    const auto g = random_vector<double>(n, 100 + t, t % 2 ? 1.0 : 1e-3);
    for (size_t i = 0; i < n; ++i) { // Kingma and Ba, Algorithm 1
      m[i] = 0.8 * m[i] + 0.2 * g[i];
      v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
      const double m_hat = m[i] / (1 - std::pow(0.8, t)), v_hat = v[i] / (1 - std::pow(0.99, t));
      p[i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-6);
    }
    net.apply_adam(g);
    const std::vector<float> g32(g.begin(), g.end());
    net32.apply_adam(g32);
  }
  std::vector<double> got(n);
  std::vector<float> got32(n);
  net.get_parameters(got);
  net32.get_parameters(got32);
  for (size_t i = 0; i < n; ++i) {
    REQUIRE(got[i] == Approx(p[i]).margin(1e-12));
    REQUIRE(got32[i] == Approx(p[i]).margin(2e-6));
  }
}

TEST_CASE("EigenMlp step is compute_gradient followed by apply_adam") {
  const MlpSpec s = regression_spec();
  const auto x = random_vector<float>(4 * s.inputs(), 5);
  const auto t = random_vector<float>(4 * s.outputs(), 6);
  EigenMlp a(s), b(s);
  a.set_parameters(pytorch_default_init(s, 1));
  b.set_parameters(pytorch_default_init(s, 1));
  for (int i = 0; i < 10; ++i) {
    a.step(x.data(), t.data(), 3);
    b.compute_gradient(x.data(), t.data(), 3);
    const std::vector<float> g(b.gradient().begin(), b.gradient().end());
    b.apply_adam(g);
  }
  std::vector<float> pa(s.parameter_count()), pb(s.parameter_count());
  a.get_parameters(pa);
  b.get_parameters(pb);
  CHECK(pa == pb);
  CHECK(pa != pytorch_default_init(s, 1));
}

TEST_CASE("EigenMlp steps and whole runs allocate nothing once built") {
  const long probe_before = g_allocations.load();
  auto probe = std::make_unique<std::vector<int>>(100);
  REQUIRE(g_allocations.load() > probe_before); // the counting malloc is in place
  // Tiny layers (coefficient-based products) and W3-sized ones (Eigen's GEMM, whose packing
  // buffers fit on the stack at these sizes), regression and classification.
  MlpSpec wide;
  wide.widths = {1, 32, 32, 32, 1};
  wide.activations = {Activation::kTanh, Activation::kTanh, Activation::kTanh,
                      Activation::kIdentity};
  wide.max_batch = 5;
  for (const MlpSpec& s : {regression_spec(), classification_spec(), wide}) {
    INFO(s.describe());
    EigenMlp net(s);
    net.set_parameters(pytorch_default_init(s, 1));
    const auto x = random_vector<float>(20 * s.inputs(), 5);
    std::vector<float> t(20 * s.target_width());
    for (size_t i = 0; i < t.size(); ++i)
      t[i] = float(i % s.outputs());
    const DataView<float> data{x.data(), t.data(), 20};
    net.run_epochs(data, 1, s.max_batch, 1); // sizes run_epochs' order buffer once

    const long before = g_allocations.load();
    for (int i = 0; i < 10; ++i)
      net.step(x.data(), t.data(), s.max_batch);
    net.run_epochs(data, 2, s.max_batch, 2);
    CHECK(g_allocations.load() == before);
  }
}

TEST_CASE("EigenMlp run_epochs is deterministic and learns sin(x)") {
  MlpSpec s;
  s.widths = {1, 14, 10, 1};
  s.activations = {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity};
  s.max_batch = 5;
  s.adam.lr = 1e-2;
  std::vector<float> x(200), y(200);
  for (int i = 0; i < 200; ++i) {
    x[i] = -3.0f + 6.0f * float(i) / 199.0f;
    y[i] = std::sin(x[i]);
  }
  const DataView<float> data{x.data(), y.data(), 200};
  EigenMlp a(s), b(s);
  a.set_parameters(pytorch_default_init(s, 2));
  b.set_parameters(pytorch_default_init(s, 2));
  const float first = a.run_epochs(data, 1, 5, 42);
  const float later = a.run_epochs(data, 30, 5, 43);
  CHECK(later < 0.25f * first);
  b.run_epochs(data, 1, 5, 42);
  CHECK(b.run_epochs(data, 30, 5, 43) == later);
  // 200 is not a multiple of 7: the last batch of each epoch is shorter, and still trains.
  CHECK(std::isfinite(b.run_epochs(data, 1, 3, 44)));
}

TEST_CASE("EigenMlp rejects bad shapes, batches and labels with clear messages") {
  MlpSpec bad = regression_spec();
  bad.activations.pop_back();
  CHECK_THROWS_WITH(EigenMlp(bad), "[EigenMlp] expected one activation per layer (4), got 3");
  bad = regression_spec();
  bad.widths[2] = 0;
  CHECK_THROWS_WITH(EigenMlp(bad), "[EigenMlp] width 2 must be positive, got 0");
  bad.widths = {3};
  CHECK_THROWS_WITH(EigenMlp(bad),
                    "[EigenMlp] an MLP needs at least 2 widths (inputs and outputs), got 1");
  bad = regression_spec();
  bad.max_batch = 0;
  CHECK_THROWS_WITH(EigenMlp(bad), "[EigenMlp] max_batch must be at least 1, got 0");

  EigenMlp net(regression_spec());
  CHECK_THROWS_WITH(net.set_parameters(std::vector<float>(5)),
                    "[EigenMlp] set_parameters: expected 93 parameters for 3-6-5-4-2 "
                    "tanh,sigmoid,relu,identity mse, got 5");
  std::vector<float> out(3);
  CHECK_THROWS_WITH(net.get_parameters(out),
                    "[EigenMlp] get_parameters: expected room for 93 parameters, got 3");
  CHECK_THROWS_WITH(net.apply_adam(std::vector<float>(2)),
                    "[EigenMlp] apply_adam: expected a gradient of 93 values, got 2");
  std::vector<float> x(40), t(40);
  CHECK_THROWS_AS(net.step(x.data(), t.data(), 5), kiln::ShapeError);
  CHECK_THROWS_WITH(net.step(x.data(), t.data(), 5),
                    "[EigenMlp] batch must be in [1, 4] (the spec's max_batch), got 5");
  CHECK_THROWS_WITH(net.loss(x.data(), t.data(), 0),
                    "[EigenMlp] batch must be in [1, 4] (the spec's max_batch), got 0");
  CHECK_THROWS_WITH(net.run_epochs(DataView<float>{x.data(), t.data(), 0}, 1, 2, 0),
                    "[EigenMlp] expected a data set with at least one sample and both x and y "
                    "set, got 0 samples");
  CHECK_THROWS_WITH(net.run_epochs(DataView<float>{x.data(), t.data(), 4}, -1, 2, 0),
                    "[EigenMlp] epochs must be >= 0, got -1");

  EigenMlp clf(classification_spec());
  const std::vector<float> labels = {0, 1, 3, 0, 0}, fractional = {0.5f};
  CHECK_THROWS_AS(clf.step(x.data(), labels.data(), 5), kiln::DataError);
  CHECK_THROWS_WITH(clf.step(x.data(), labels.data(), 5),
                    "[EigenMlp] label of sample 2 must be an integer in [0, 3), got 3");
  CHECK_THROWS_WITH(clf.loss(x.data(), fractional.data(), 1),
                    "[EigenMlp] label of sample 0 must be an integer in [0, 3), got 0.5");
}
