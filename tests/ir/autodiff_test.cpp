// Symbolic autodiff on the course's networks: the worked example against its closed-form
// gradients, Taylor tests of composite networks, second derivatives for physics-informed losses,
// and grad()'s errors.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/print.h"
#include "tests/ir/random_bindings.h"
#include "tests/support/taylor.h"

using namespace kiln;
using ir::Bindings;
using ir::DType;
using ir::Tensor;

namespace {

constexpr int64_t kBatchSize = 5;

/** Row-major [rows, cols] matrix of doubles for the hand-written reference. */
struct Mat {
  int64_t rows, cols;
  std::vector<double> v;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(static_cast<size_t>(r * c), 0.0) {}
  explicit Mat(const Tensor& t) : rows(t.dims[0]), cols(t.rank() > 1 ? t.dims[1] : 1), v(t.data) {}
  double& operator()(int64_t i, int64_t j) { return v[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return v[static_cast<size_t>(i * cols + j)]; }
};

void check_close(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.data.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("entry " << i);
    CHECK(got.data[i] == Approx(want[i]).epsilon(tol).margin(tol));
  }
}

/** Random rows of class probabilities (positive, each row sums to 1). */
Tensor random_probabilities(int64_t batch, int64_t classes, Rng& rng) {
  Tensor t(DType::F64, {batch, classes});
  for (int64_t i = 0; i < batch; ++i) {
    double total = 0;
    for (int64_t k = 0; k < classes; ++k)
      total += t[i * classes + k] = rng.uniform(0.1, 1.0);
    for (int64_t k = 0; k < classes; ++k)
      t[i * classes + k] /= total;
  }
  return t;
}

enum class Act { Tanh, Sigmoid };
enum class Targets { Labels, Probabilities };

/**
 * The worked example: F(y) = W a(K y + b), cross-entropy loss, and its gradients by the
 * closed forms (s = softmax(W u1), u1 = a(K y + b)):
 *   dW = (s - c) u1^T,  db = diag(a'(K y + b)) W^T (s - c),  dK = db y^T,  dy = K^T db,
 * each averaged over the batch.
 */
void check_worked_example(Act act, Targets targets) {
  Input y{{2}, "y"};
  Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
  const Expr z = K * y + b;
  const Expr u1 = act == Act::Tanh ? Expr(kiln::tanh(z)) : Expr(kiln::sigmoid(z));
  const Expr F = W * u1;
  Labels labels{3, "c"};
  Target probs{{3}, "c"};
  const Expr loss =
      targets == Targets::Labels ? Expr(cross_entropy(F, labels)) : Expr(cross_entropy(F, probs));
  const Lowered net = lower({{"loss", loss}}, DType::F64);
  const ir::Graph g = ir::grad(net.graph, "loss", {"W", "K", "b", "y"});

  Rng rng(act == Act::Tanh ? 11 : 12);
  Bindings at;
  at.emplace("y", test::random_tensor(DType::F64, {kBatchSize, 2}, rng, -2.0, 2.0));
  at.emplace("K", test::random_tensor(DType::F64, {14, 2}, rng));
  at.emplace("b", test::random_tensor(DType::F64, {14}, rng));
  at.emplace("W", test::random_tensor(DType::F64, {3, 14}, rng));
  Mat c(kBatchSize, 3);
  if (targets == Targets::Labels) {
    Tensor t(DType::I32, {kBatchSize});
    for (int64_t i = 0; i < kBatchSize; ++i)
      c(i, static_cast<int64_t>(t[i] = rng.below(3))) = 1.0;
    at.emplace("c", std::move(t));
  } else {
    Tensor t = random_probabilities(kBatchSize, 3, rng);
    c.v = t.data;
    at.emplace("c", std::move(t));
  }
  const std::vector<Tensor> out = ir::interpret(g, at);

  const Mat Y(at.at("y")), Km(at.at("K")), Wm(at.at("W"));
  const std::vector<double>& bv = at.at("b").data;
  Mat dW(3, 14), dK(14, 2), dY(kBatchSize, 2);
  std::vector<double> db(14, 0.0);
  double loss_value = 0;
  const double inv_n = 1.0 / kBatchSize;
  for (int64_t i = 0; i < kBatchSize; ++i) {
    std::vector<double> u(14), da(14), u2(3, 0.0), s(3), d(3);
    for (int64_t r = 0; r < 14; ++r) {
      double zr = bv[static_cast<size_t>(r)];
      for (int64_t k = 0; k < 2; ++k)
        zr += Km(r, k) * Y(i, k);
      if (act == Act::Tanh) {
        u[r] = std::tanh(zr);
        da[r] = 1.0 - u[r] * u[r];
      } else {
        u[r] = 1.0 / (1.0 + std::exp(-zr));
        da[r] = u[r] * (1.0 - u[r]);
      }
    }
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t r = 0; r < 14; ++r)
        u2[k] += Wm(k, r) * u[r];
    double total = 0;
    for (int64_t k = 0; k < 3; ++k)
      total += std::exp(u2[k]);
    for (int64_t k = 0; k < 3; ++k) {
      s[k] = std::exp(u2[k]) / total;
      d[k] = s[k] - c(i, k); // softmax - c (the slide's c - sigma has the sign flipped)
      loss_value -= inv_n * c(i, k) * std::log(s[k]);
    }
    for (int64_t k = 0; k < 3; ++k)
      for (int64_t r = 0; r < 14; ++r)
        dW(k, r) += inv_n * d[k] * u[r];
    for (int64_t r = 0; r < 14; ++r) {
      double delta = 0;
      for (int64_t k = 0; k < 3; ++k)
        delta += Wm(k, r) * d[k];
      delta *= da[r] * inv_n;
      db[r] += delta;
      for (int64_t k = 0; k < 2; ++k) {
        dK(r, k) += delta * Y(i, k);
        dY(i, k) += Km(r, k) * delta;
      }
    }
  }
  CHECK(out[0][0] == Approx(loss_value).epsilon(1e-12));
  INFO("grad W");
  check_close(out[1], dW.v);
  INFO("grad K");
  check_close(out[2], dK.v);
  INFO("grad b");
  check_close(out[3], db);
  INFO("grad y");
  check_close(out[4], dY.v);
}

} // namespace

TEST_CASE("worked example with tanh and labels: gradients equal the closed forms") {
  check_worked_example(Act::Tanh, Targets::Labels);
}
TEST_CASE("worked example with tanh and probability targets: gradients equal the closed forms") {
  check_worked_example(Act::Tanh, Targets::Probabilities);
}
TEST_CASE("worked example with sigmoid and labels: gradients equal the closed forms") {
  check_worked_example(Act::Sigmoid, Targets::Labels);
}
TEST_CASE("worked example with sigmoid and probability targets: gradients equal the closed forms") {
  check_worked_example(Act::Sigmoid, Targets::Probabilities);
}

TEST_CASE("the cross-entropy gradient with respect to the logits is softmax minus the target") {
  Input u{{3}, "u"};
  Labels c{3, "c"};
  const Lowered l = lower({{"loss", cross_entropy(u, c)}}, DType::F64);
  const ir::Graph g = ir::grad(l.graph, "loss", {"u"});
  Bindings at;
  at.emplace("u", Tensor(DType::F64, {2, 3}, {1.0, 2.0, 3.0, 0.5, -0.5, 0.0}));
  at.emplace("c", Tensor(DType::I32, {2}, {2.0, 0.0}));
  const Tensor du = ir::interpret_node(g, g.output("grad_u"), at);
  std::vector<double> want;
  for (int i = 0; i < 2; ++i) {
    double total = 0;
    for (int k = 0; k < 3; ++k)
      total += std::exp(at.at("u")[i * 3 + k]);
    for (int k = 0; k < 3; ++k)
      want.push_back((std::exp(at.at("u")[i * 3 + k]) / total - (k == at.at("c")[i] ? 1.0 : 0.0)) /
                     2);
  }
  check_close(du, want);
  CHECK(du[2] < 0); // the labelled logit is pushed up by gradient descent
}

namespace {

/**
 * tests/support/taylor.h's test along a random direction of unit length over all of `wrt`: with
 * a hundred parameters or more, a direction of N(0, 1) entries is so long that the h^2 term
 * hides the h term over the helper's steps, and r1 no longer shows first order.
 */
test::TaylorResult taylor_test_unit(const ir::Graph& g, const std::string& out, const Bindings& at,
                                    const std::vector<std::string>& wrt, uint64_t seed) {
  const ir::Graph dg = ir::optimize(ir::grad(g, out, wrt));
  Rng rng(seed);
  Bindings dir;
  double norm2 = 0;
  for (const std::string& w : wrt) {
    Tensor v = at.at(w);
    for (double& x : v.data) {
      x = rng.normal();
      norm2 += x * x;
    }
    dir.emplace(w, std::move(v));
  }
  double slope = 0;
  for (auto& [w, v] : dir) {
    const Tensor gw = ir::interpret_node(dg, dg.output("grad_" + w), at);
    for (int64_t i = 0; i < v.numel(); ++i)
      slope += gw[i] * (v[i] /= std::sqrt(norm2));
  }
  const double f0 = test::scalar_of(g, out, at);
  test::TaylorResult r;
  double h = 0.1;
  for (int k = 0; k < 8; ++k, h *= 0.5) {
    const double fh = test::scalar_of(g, out, test::shifted(at, dir, h));
    r.h.push_back(h);
    r.r1.push_back(std::abs(fh - f0));
    r.r2.push_back(std::abs(fh - f0 - h * slope));
  }
  r.order1 = test::TaylorResult::order(r.h, r.r1);
  r.order2 = test::TaylorResult::order(r.h, r.r2);
  const double scale = 1.0 + std::abs(f0) + std::abs(slope);
  r.exact = *std::max_element(r.r2.begin(), r.r2.end()) < 1e-11 * scale;
  r.constant = *std::max_element(r.r1.begin(), r.r1.end()) < 1e-11 * scale;
  return r;
}

/**
 * Taylor test of `out` w.r.t. every parameter at once and w.r.t. the input "y", at random
 * parameters in [-1, 1): far enough from a stationary point that the first-order term shows.
 */
void check_taylor(const Lowered& l, const std::string& out, const Bindings& inputs, uint64_t seed) {
  Bindings at = test::random_bindings(l.graph, kBatchSize, seed);
  for (const auto& [name, value] : inputs)
    at[name] = value;
  std::vector<std::string> params;
  for (const ParamSpec& p : l.params)
    params.push_back(p.name);
  for (const auto& wrt : {params, std::vector<std::string>{"y"}}) {
    INFO("with respect to " << wrt.front() << (wrt.size() > 1 ? " and the other params" : ""));
    const test::TaylorResult r = taylor_test_unit(l.graph, out, at, wrt, seed);
    INFO(r.report());
    CHECK(r.passed());
    CHECK_FALSE(r.exact); // the networks are not linear: a real second-order check
  }
}

Bindings features(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Bindings b;
  b.emplace("y", test::random_tensor(DType::F64, {kBatchSize, n}, rng, -2.0, 2.0));
  return b;
}

Bindings with_labels(Bindings b, int64_t classes, uint64_t seed) {
  Rng rng(seed);
  Tensor t(DType::I32, {kBatchSize});
  for (double& v : t.data)
    v = rng.below(static_cast<uint32_t>(classes));
  b.emplace("c", std::move(t));
  return b;
}

Bindings with_targets(Bindings b, int64_t n, uint64_t seed, bool probabilities = false) {
  Rng rng(seed);
  b.emplace("c", probabilities ? random_probabilities(kBatchSize, n, rng)
                               : test::random_tensor(DType::F64, {kBatchSize, n}, rng));
  return b;
}

} // namespace

TEST_CASE("Taylor: tanh and sigmoid MLPs 1-14-10-1 with least squares") {
  for (const nn::Layer& act : {nn::Layer(nn::Tanh()), nn::Layer(nn::Sigmoid())}) {
    INFO(act.describe());
    Input y{{1}, "y"};
    Target c{{1}, "c"};
    nn::Sequential net{nn::Linear(1, 14), act, nn::Linear(14, 10), act, nn::Linear(10, 1)};
    check_taylor(lower({{"loss", least_squares(net(y), c)}}, DType::F64), "loss",
                 with_targets(features(1, 1), 1, 2), 1);
  }
}

TEST_CASE(
    "Taylor: tanh and sigmoid MLPs 2-14-10-3 with cross-entropy on labels and on probabilities") {
  for (const nn::Layer& act : {nn::Layer(nn::Tanh()), nn::Layer(nn::Sigmoid())}) {
    INFO(act.describe());
    Input y{{2}, "y"};
    nn::Sequential net{nn::Linear(2, 14), act, nn::Linear(14, 10), act, nn::Linear(10, 3)};
    Labels labels{3, "c"};
    check_taylor(lower({{"loss", cross_entropy(net(y), labels)}}, DType::F64), "loss",
                 with_labels(features(2, 3), 3, 4), 2);
    Target probs{{3}, "c"};
    check_taylor(lower({{"loss", cross_entropy(net(y), probs)}}, DType::F64), "loss",
                 with_targets(features(2, 5), 3, 6, true), 3);
  }
}

TEST_CASE("Taylor: residual network with least squares") {
  Input y{{2}, "y"};
  Target c{{2}, "c"};
  nn::Sequential net{nn::Linear(2, 6), nn::Residual(6), nn::Residual(6, nn::Sigmoid()),
                     nn::Linear(6, 2)};
  check_taylor(lower({{"loss", least_squares(net(y), c)}}, DType::F64), "loss",
               with_targets(features(2, 7), 2, 8), 4);
}

TEST_CASE("Taylor: MSE plus the L2 regularizer") {
  Input y{{2}, "y"};
  Target c{{3}, "c"};
  nn::Sequential net{nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 3)};
  const Expr loss = mse(net(y), c) + nn::l2(net.parameters(), 0.3);
  check_taylor(lower({{"loss", loss}}, DType::F64), "loss", with_targets(features(2, 9), 3, 10), 5);
}

TEST_CASE("Taylor: softplus, gelu, silu, leaky_relu and elu networks") {
  const std::pair<const char*, nn::Layer> acts[] = {
      {"softplus", nn::Softplus()},       {"gelu", nn::GELU()}, {"silu", nn::SiLU()},
      {"leaky_relu", nn::LeakyReLU(0.2)}, {"elu", nn::ELU()},
  };
  uint64_t seed = 20;
  for (const auto& [name, act] : acts) {
    INFO(name);
    Input y{{2}, "y"};
    Target c{{1}, "c"};
    nn::Sequential net{nn::Linear(2, 6), act, nn::Linear(6, 1)};
    check_taylor(lower({{"loss", mse(net(y), c)}}, DType::F64), "loss",
                 with_targets(features(2, seed), 1, seed + 1), seed);
    seed += 2;
  }
}

TEST_CASE("Taylor: a Dense (concat) block with cross-entropy") {
  Input y{{2}, "y"};
  Labels c{3, "c"};
  nn::Sequential net{nn::Linear(2, 4), nn::Dense(4, 3), nn::Dense(7, 3, nn::Sigmoid()),
                     nn::Linear(10, 3)};
  check_taylor(lower({{"loss", cross_entropy(net(y), c)}}, DType::F64), "loss",
               with_labels(features(2, 30), 3, 31), 6);
}

namespace {

/** u = F(x), a tanh MLP 1-8-8-1 with a scalar input, and its derivatives in x. */
struct Pinn {
  Input<> x{{1}, "x"};
  nn::Sequential net{nn::Linear(1, 8), nn::Tanh(), nn::Linear(8, 8), nn::Tanh(), nn::Linear(8, 1)};
  Expr u = net(x);
  Expr du = kiln::grad(kiln::sum(u), x);
  Expr d2u = kiln::grad(kiln::sum(kiln::grad(kiln::sum(u), x)), x);
};

Tensor shifted_x(const Tensor& x, double h) {
  Tensor t = x;
  for (double& v : t.data)
    v += h;
  return t;
}

} // namespace

TEST_CASE(
    "second derivative d2u/dx2 through grad(sum(grad(sum(u), x)), x) matches finite differences") {
  Pinn p;
  const Lowered l = lower({{"u", p.u}, {"du", p.du}, {"d2u", p.d2u}}, DType::F64);
  Bindings at = test::random_bindings(l.graph, 6, 40);
  Rng rng(41);
  at["x"] = test::random_tensor(DType::F64, {6, 1}, rng, -2.0, 2.0);
  const std::vector<Tensor> out = ir::interpret(l.graph, at);
  REQUIRE(out[2].dims == std::vector<int64_t>{6, 1});

  auto u_at = [&](double h) {
    Bindings s = at;
    s["x"] = shifted_x(at.at("x"), h);
    return ir::interpret_node(l.graph, l.graph.output("u"), s);
  };
  const double h2 = 1e-3, h1 = 1e-5;
  const Tensor up = u_at(h2), um = u_at(-h2), u1p = u_at(h1), u1m = u_at(-h1);
  double largest = 0;
  for (int64_t i = 0; i < 6; ++i) {
    INFO("sample " << i << " at x = " << at.at("x")[i]);
    const double fd2 = (up[i] - 2.0 * out[0][i] + um[i]) / (h2 * h2);
    const double fd1 = (u1p[i] - u1m[i]) / (2.0 * h1);
    CHECK(out[1][i] == Approx(fd1).epsilon(1e-8).margin(1e-8));
    CHECK(out[2][i] == Approx(fd2).epsilon(1e-6).margin(1e-6));
    largest = std::max(largest, std::abs(out[2][i]));
  }
  CHECK(largest > 1e-2); // the network is curved enough for the check to mean something
}

TEST_CASE("Taylor: the PINN loss mean((d2u/dx2 - f(x))^2) w.r.t. the weights") {
  Pinn p;
  const Expr loss = kiln::mean(kiln::square(p.d2u - kiln::sin(p.x)));
  const Lowered l = lower({{"loss", loss}}, DType::F64);
  Bindings at = test::random_bindings(l.graph, 6, 50);
  std::vector<std::string> weights;
  for (const ParamSpec& s : l.params)
    weights.push_back(s.name);
  REQUIRE(weights.size() == 6);
  const test::TaylorResult r = test::taylor_test(l.graph, "loss", at, weights, 51);
  INFO(r.report());
  CHECK(r.passed());
  CHECK_FALSE(r.exact);
}

TEST_CASE("grad of a node the output does not depend on is zero") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"}, unused{{4}, "unused"};
  const Lowered l = lower({{"loss", kiln::sum(W * y)}, {"other", kiln::sum(unused)}}, DType::F64);
  const ir::Graph g = ir::grad(l.graph, "loss", {"unused"});
  const Tensor z = ir::interpret_node(g, g.output("grad_unused"), test::random_bindings(g, 2, 1));
  CHECK(z.dims == std::vector<int64_t>{4});
  CHECK(z.data == std::vector<double>(4, 0.0));
}

TEST_CASE("grad names its outputs grad_<leaf> unless told otherwise") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  const Lowered l = lower({{"loss", kiln::sum(W * y)}}, DType::F64);
  const ir::Graph g = ir::grad(l.graph, "loss", {"W", "y"}, {"dW", "dy"});
  CHECK(g.outputs().size() == 3);
  CHECK(g.outputs()[1].name == "dW");
  CHECK(g.outputs()[2].name == "dy");
  CHECK_NOTHROW(ir::grad(l.graph, "loss", {"W"}).output("grad_W"));
}

TEST_CASE("grad errors: a non-scalar output and an unknown leaf") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  const Lowered l = lower({{"loss", kiln::sum(W * y)}, {"F", W * y}}, DType::F64);
  CHECK_THROWS_AS(ir::grad(l.graph, "F", {"W"}), ShapeError);
  CHECK_THROWS_WITH(ir::grad(l.graph, "F", {"W"}),
                    Catch::Contains("[grad] the output must be a float scalar, got f64[N,3]") &&
                        Catch::Contains("reduce it first"));
  CHECK_THROWS_WITH(ir::grad(l.graph, "loss", {"W", "Q"}),
                    Catch::Contains("[grad] the graph has no input or param named 'Q'"));
  CHECK_THROWS_WITH(ir::grad(l.graph, "nope", {"W"}),
                    Catch::Contains("[graph] no output named 'nope'"));
  // The DSL's grad of a non-scalar with runtime shapes fails the same way when lowered.
  CHECK_THROWS_WITH(lower({{"g", kiln::grad(W * y, W)}}),
                    Catch::Contains("[grad] the output must be a float scalar, got f32[N,3]"));
}
