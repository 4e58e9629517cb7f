// The DSL: what expressions lower to, what they compute (through the reference interpreter,
// against plain loops), layers and their parameter names, initialization, losses, activations.

#include <catch2/catch.hpp>

#include <cmath>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "tests/ir/random_bindings.h"

using namespace kiln;
using ir::Bindings;
using ir::DType;
using ir::Tensor;

namespace {

/** Evaluates the single output of `e` in f64 at `at`. */
Tensor eval(const Expr& e, const Bindings& at) {
  const Lowered l = lower({{"out", e}}, DType::F64);
  return ir::interpret(l.graph, at)[0];
}

Bindings bind(std::initializer_list<std::pair<const std::string, Tensor>> values) {
  return Bindings(values.begin(), values.end());
}

Tensor f64(std::vector<int64_t> dims, std::vector<double> values) {
  return Tensor(DType::F64, std::move(dims), std::move(values));
}

} // namespace

TEST_CASE("the DSL lowers F = W tanh(K y + b) to the expected IR") {
  Input y{{2}, "y"};
  Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
  const Lowered l = lower({{"F", W * kiln::tanh(K * y + b)}});
  // Operands lower left to right, so the listing reads like the formula on every compiler.
  const std::string expected = to_text(ir::parse_graph(R"(
    %W = param {name="W"} : f32[3,14]
    %K = param {name="K"} : f32[14,2]
    %y = input {name="y"} : f32[N,2]
    %Ky = matmul(%y, %K) {ta=0, tb=1} : f32[N,14]
    %b = param {name="b"} : f32[14]
    %bb = broadcast(%b) {shape=[N,14]} : f32[N,14]
    %z = add(%Ky, %bb) : f32[N,14]
    %u = tanh(%z) : f32[N,14]
    %F = matmul(%u, %W) {ta=0, tb=1} : f32[N,3]
    output F = %F
  )"));
  CHECK(to_text(l.graph) == expected);
  REQUIRE(l.params.size() == 3);
  CHECK(l.params[0].name == "W");
  CHECK(l.params[1].name == "K");
  CHECK(l.params[2].name == "b");
  CHECK(l.params[2].shape == ir::Shape{14});
}

TEST_CASE("K * y on a batch applies K to every sample: y K^T") {
  Param K{{3, 2}, "K"};
  Input y{{2}, "y"};
  Rng rng(1);
  const Bindings at = bind({{"K", test::random_tensor(DType::F64, {3, 2}, rng)},
                            {"y", test::random_tensor(DType::F64, {4, 2}, rng)}});
  const Tensor F = eval(K * y, at);
  REQUIRE(F.dims == std::vector<int64_t>{4, 3});
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t r = 0; r < 3; ++r) {
      double want = 0;
      for (int64_t k = 0; k < 2; ++k)
        want += at.at("K")[r * 2 + k] * at.at("y")[i * 2 + k];
      CHECK(F[i * 3 + r] == Approx(want).epsilon(1e-14));
    }
}

TEST_CASE("matmul(A, B) is the plain matrix product") {
  Param A{{3, 4}, "A"}, B{{4, 2}, "B"}, v{{4}, "v"};
  Input Y{{3}, "Y"}, G{{2}, "G"};
  Rng rng(2);
  const Bindings at = bind({{"A", test::random_tensor(DType::F64, {3, 4}, rng)},
                            {"B", test::random_tensor(DType::F64, {4, 2}, rng)},
                            {"v", test::random_tensor(DType::F64, {4}, rng)},
                            {"Y", test::random_tensor(DType::F64, {5, 3}, rng)},
                            {"G", test::random_tensor(DType::F64, {5, 2}, rng)}});
  auto product = [&](const Tensor& a, const Tensor& b, bool ta) {
    const int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
    const int64_t n = b.rank() == 2 ? b.dims[1] : 1;
    std::vector<double> out(static_cast<size_t>(m * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t p = 0; p < k; ++p)
          out[static_cast<size_t>(i * n + j)] += (ta ? a[p * m + i] : a[i * k + p]) * b[p * n + j];
    return out;
  };
  auto check = [](const Tensor& got, const std::vector<double>& want) {
    REQUIRE(got.data.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i)
      CHECK(got.data[i] == Approx(want[i]).epsilon(1e-14));
  };
  check(eval(matmul(A, B), at), product(at.at("A"), at.at("B"), false));
  check(eval(A * B, at), product(at.at("A"), at.at("B"), false));
  check(eval(A * v, at), product(at.at("A"), at.at("v"), false));
  // A batch on the left is a plain product too: Y [N,3] times A [3,4].
  check(eval(Y * A, at), product(at.at("Y"), at.at("A"), false));
  // Regression: matmul(Y^T, G) sums over the batch; it used to be read as "a matrix applied to
  // each sample of G" and rejected.
  const Tensor yg = eval(matmul(kiln::transpose(Y), G), at);
  CHECK(yg.dims == std::vector<int64_t>{3, 2});
  check(yg, product(at.at("Y"), at.at("G"), true));
}

TEST_CASE("numbers in expressions are scalars") {
  Input x{{3}, "x"};
  const Tensor xs = f64({2, 3}, {-2.0, -0.5, 0.0, 0.25, 1.0, 3.0});
  const Bindings at = bind({{"x", xs}});
  const std::pair<Expr, double (*)(double)> cases[] = {
      {2.0 * x, [](double v) { return 2.0 * v; }},
      {x * 2, [](double v) { return v * 2.0; }},
      {x / 4.0, [](double v) { return v / 4.0; }},
      {1 - x, [](double v) { return 1.0 - v; }},
      {x + 3, [](double v) { return v + 3.0; }},
      {-x, [](double v) { return -v; }},
      {3.0 / (1.0 + kiln::square(x)), [](double v) { return 3.0 / (1.0 + v * v); }},
      {mul(x, x) - kiln::pow(x, 2.0), [](double v) { return v * v - std::pow(v, 2.0); }},
      {kiln::maximum(x, 0.5) + kiln::minimum(0.0, x),
       [](double v) { return std::max(v, 0.5) + std::min(0.0, v); }},
  };
  for (size_t c = 0; c < std::size(cases); ++c) {
    INFO("case " << c);
    const Tensor got = eval(cases[c].first, at);
    REQUIRE(got.dims == xs.dims);
    for (int64_t i = 0; i < xs.numel(); ++i)
      CHECK(got[i] == Approx(cases[c].second(xs[i])).epsilon(1e-15));
  }
}

TEST_CASE("static shapes lower to the same graph as runtime shapes") {
  Input y{{2}, "y"};
  Labels c{3, "c"};
  Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
  Input<2> ys("y");
  Labels<3> cs("c");
  Param<14, 2> Ks("K");
  Param<14> bs("b");
  Param<3, 14> Ws("W");
  const auto Fs = Ws * kiln::tanh(Ks * ys + bs);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(Fs)>::StaticShape, Dims<kN, 3>>);
  static_assert(std::is_same_v<decltype(W * kiln::tanh(K * y + b))::StaticShape, AnyShape>);
  static_assert(std::is_same_v<decltype(Ks * Param<2>("v"))::StaticShape, Dims<14>>);
  static_assert(std::is_same_v<decltype(kiln::matmul(Ws, Ks))::StaticShape, Dims<3, 2>>);
  static_assert(std::is_same_v<decltype(Ks * Param<2, 5>("P"))::StaticShape, Dims<14, 5>>);
  const Lowered dynamic = lower({{"loss", cross_entropy(W * kiln::tanh(K * y + b), c)}});
  const Lowered fixed = lower({{"loss", cross_entropy(Fs, cs)}});
  CHECK(to_text(fixed.graph) == to_text(dynamic.graph));
  CHECK(fixed.graph == dynamic.graph);
  REQUIRE(fixed.params.size() == dynamic.params.size());
  for (size_t i = 0; i < fixed.params.size(); ++i) {
    CHECK(fixed.params[i].name == dynamic.params[i].name);
    CHECK(fixed.params[i].shape == dynamic.params[i].shape);
  }
}

TEST_CASE("nn::Sequential names parameters like PyTorch and describes itself") {
  nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 3)};
  const std::vector<std::string> names = {"0.weight", "0.bias",   "2.weight",
                                          "2.bias",   "4.weight", "4.bias"};
  const std::vector<std::vector<int64_t>> dims = {{14, 2}, {14}, {10, 14}, {10}, {3, 10}, {3}};
  const std::vector<Param<>> params = net.parameters();
  REQUIRE(params.size() == names.size());
  for (size_t i = 0; i < params.size(); ++i) {
    CHECK(params[i].name() == names[i]);
    CHECK(params[i].dims() == dims[i]);
  }
  CHECK(net.describe() == "Sequential(\n"
                          "  (0): Linear(in_features=2, out_features=14, bias=True)\n"
                          "  (1): Tanh()\n"
                          "  (2): Linear(in_features=14, out_features=10, bias=True)\n"
                          "  (3): Sigmoid()\n"
                          "  (4): Linear(in_features=10, out_features=3, bias=True)\n"
                          ")");
  Input y{{2}, "y"};
  const Lowered l = lower({{"F", net(y)}});
  for (const std::string& n : names)
    CHECK(l.graph.find_leaf(ir::Op::Param, n).has_value());
  CHECK(l.params.size() == names.size());
}

TEST_CASE("nested and growing Sequentials extend the names") {
  nn::Sequential inner{nn::Linear(3, 3, false), nn::ReLU()};
  nn::Sequential net{nn::Linear(2, 3), inner};
  net.push_back(nn::Residual(3));
  std::vector<std::string> names;
  for (const Param<>& p : net.parameters())
    names.push_back(p.name());
  CHECK(names ==
        std::vector<std::string>{"0.weight", "0.bias", "1.0.weight", "2.weight", "2.bias"});
  CHECK(net.size() == 3);
  // Regression: a nested Sequential's lines are indented one more level, as PyTorch prints them.
  CHECK(net.describe() == "Sequential(\n"
                          "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                          "  (1): Sequential(\n"
                          "    (0): Linear(in_features=3, out_features=3, bias=False)\n"
                          "    (1): ReLU()\n"
                          "  )\n"
                          "  (2): Residual(width=3, activation=Tanh())\n"
                          ")");
}

TEST_CASE("init_parameters depends only on the seed and the parameter's name") {
  auto build = [] { return nn::Sequential{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 3)}; };
  Input y{{2}, "y"};
  Target c{{3}, "c"};
  const nn::Sequential a = build(), b = build();
  const Lowered la = lower({{"F", a(y)}});
  const Lowered lb = lower({{"loss", mse(b(y), c) + nn::l2(b.parameters(), 0.1)}});
  const auto va = init_parameters(la.params, 7), vb = init_parameters(lb.params, 7);
  REQUIRE(va.size() == 4);
  for (const auto& [name, t] : va) {
    INFO(name);
    CHECK(vb.at(name).data == t.data);
    CHECK(vb.at(name).dims == t.dims);
  }
  CHECK(init_parameters(la.params, 7).at("0.weight").data == va.at("0.weight").data);
  CHECK(init_parameters(la.params, 8).at("0.weight").data != va.at("0.weight").data);
  CHECK(va.at("0.bias").data != std::vector<double>(14, va.at("0.bias")[0]));
  // The same shape under another name draws other values.
  Param p{{14, 2}, "other"};
  const auto vp = init_parameters(lower({{"p", kiln::sum(p)}}).params, 7);
  CHECK(vp.at("other").data != va.at("0.weight").data);
  // f32 values are f32 numbers; f64 ones are the same draws unrounded.
  const auto v64 = init_parameters(la.params, 7, DType::F64);
  for (size_t i = 0; i < va.at("0.weight").data.size(); ++i) {
    CHECK(va.at("0.weight")[static_cast<int64_t>(i)] ==
          static_cast<double>(static_cast<float>(v64.at("0.weight")[static_cast<int64_t>(i)])));
  }
}

TEST_CASE("Linear's initial values are uniform in +-1/sqrt(in), as PyTorch's") {
  nn::Sequential net{nn::Linear(400, 500)};
  Input y{{400}, "y"};
  const auto v = init_parameters(lower({{"F", net(y)}}).params, 3, DType::F64);
  const double bound = 1.0 / std::sqrt(400.0);
  const std::vector<double>& w = v.at("0.weight").data;
  REQUIRE(w.size() == 200000);
  double sum = 0, sum_sq = 0;
  std::vector<double> bins(10, 0.0);
  for (double x : w) {
    REQUIRE(std::abs(x) <= bound);
    sum += x;
    sum_sq += x * x;
    bins[static_cast<size_t>(std::min(9.0, (x + bound) / (2 * bound) * 10))] += 1;
  }
  const double n = static_cast<double>(w.size());
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  // Five standard errors: U(-a, a) has variance a^2/3 and x^2 has variance 4a^4/45.
  CHECK(std::abs(mean) < 5 * bound / std::sqrt(3 * n));
  CHECK(std::abs(var - bound * bound / 3) < 5 * bound * bound * std::sqrt(4.0 / 45.0 / n));
  double chi2 = 0;
  for (double count : bins)
    chi2 += (count - n / 10) * (count - n / 10) / (n / 10);
  CHECK(chi2 < 35.0); // 9 degrees of freedom: P(chi2 > 35) < 1e-4
  for (double x : v.at("0.bias").data)
    CHECK(std::abs(x) <= bound);
}

TEST_CASE("bare parameters: default and explicit initializers") {
  Param M{{3, 4}, "M"}, T{{2, 3, 4}, "T"}, v{{5}, "v"}, k{{6}, "k"}, g{{20000}, "g"};
  k.init(Init::constant(0.25));
  g.init(Init::normal(1.0, 0.5));
  const Lowered l =
      lower({{"s", kiln::sum(M) + kiln::sum(T) + kiln::sum(v) + kiln::sum(k) + kiln::sum(g)}});
  const auto vals = init_parameters(l.params, 1, DType::F64);
  for (double x : vals.at("M").data)
    CHECK(std::abs(x) <= 0.5); // fan_in = 4
  for (double x : vals.at("T").data)
    CHECK(std::abs(x) <= 1 / std::sqrt(12.0)); // fan_in = 3*4
  CHECK(vals.at("v").data == std::vector<double>(5, 0.0));
  CHECK(vals.at("k").data == std::vector<double>(6, 0.25));
  double sum = 0, sum_sq = 0;
  for (double x : vals.at("g").data) {
    sum += x;
    sum_sq += x * x;
  }
  const double mean = sum / 20000, sd = std::sqrt(sum_sq / 20000 - mean * mean);
  CHECK(std::abs(mean - 1.0) < 5 * 0.5 / std::sqrt(20000.0));
  CHECK(std::abs(sd - 0.5) < 0.02);
}

TEST_CASE("least squares and MSE evaluate to their formulas") {
  Input f{{2}, "f"};
  Target c{{2}, "c"};
  Rng rng(5);
  const Bindings at = bind({{"f", test::random_tensor(DType::F64, {4, 2}, rng)},
                            {"c", test::random_tensor(DType::F64, {4, 2}, rng)}});
  double sq = 0;
  for (int64_t i = 0; i < 8; ++i)
    sq += std::pow(at.at("f")[i] - at.at("c")[i], 2);
  CHECK(eval(least_squares(f, c), at)[0] ==
        Approx(0.5 * sq / 4).epsilon(1e-14));                     // 1/2 |F-c|^2 per sample
  CHECK(eval(mse(f, c), at)[0] == Approx(sq / 8).epsilon(1e-14)); // torch.nn.MSELoss
}

TEST_CASE("cross-entropy evaluates to -log softmax, stably for logits of 1000") {
  Input u{{3}, "u"};
  Labels c{3, "c"};
  Target p{{3}, "p"};
  const Tensor logits = f64({3, 3}, {1000.0, 0.0, -1000.0, 1000.0, 999.0, 0.0, 0.5, -0.25, 2.0});
  const Tensor labels(DType::I32, {3}, {0.0, 1.0, 2.0});
  const Tensor probs = f64({3, 3}, {0.2, 0.3, 0.5, 1.0, 0.0, 0.0, 0.1, 0.1, 0.8});
  // -log softmax(u)_k = log(sum_j exp(u_j - m)) + m - u_k with m = max_j u_j.
  auto nll = [&](int64_t i, int64_t k) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < 3; ++j)
      m = std::max(m, logits[i * 3 + j]);
    for (int64_t j = 0; j < 3; ++j)
      s += std::exp(logits[i * 3 + j] - m);
    return std::log(s) + (m - logits[i * 3 + k]);
  };
  const double want_labels = (nll(0, 0) + nll(1, 1) + nll(2, 2)) / 3;
  double want_probs = 0;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t k = 0; k < 3; ++k)
      want_probs += probs[i * 3 + k] * nll(i, k) / 3;
  CHECK(nll(1, 1) == Approx(1.0 + std::log1p(std::exp(-1.0))).epsilon(1e-14));
  for (DType t : {DType::F64, DType::F32}) {
    INFO(ir::to_string(t));
    const Lowered l = lower({{"labels", cross_entropy(u, c)}, {"probs", cross_entropy(u, p)}}, t);
    Bindings at = bind({{"u", logits}, {"c", labels}, {"p", probs}});
    at["u"].dtype = at["p"].dtype = t;
    const std::vector<Tensor> out = ir::interpret(l.graph, at, ir::Precision::Native);
    CHECK(std::isfinite(out[0][0]));
    CHECK(std::isfinite(out[1][0]));
    // In f32, lse(u) = 1000.31... carries the rounding of 1000 (an ulp is 6e-5).
    const double tol = t == DType::F64 ? 1e-12 : 1e-4;
    CHECK(out[0][0] == Approx(want_labels).margin(tol));
    CHECK(out[1][0] == Approx(want_probs).margin(tol));
  }
}

TEST_CASE("accuracy counts the samples whose largest output is their label, ties included") {
  Input u{{3}, "u"};
  Labels c{3, "c"};
  const Bindings at =
      bind({{"u", f64({4, 3}, {0.1, 0.9, 0.0, 2.0, 1.0, 2.0, 0.0, 0.0, -1.0, 5.0, 4.0, 3.0})},
            {"c", Tensor(DType::I32, {4}, {1.0, 0.0, 2.0, 2.0})}});
  // right, right (a tie with class 2), wrong, wrong
  CHECK(eval(accuracy(u, c), at)[0] == 0.5);
}

TEST_CASE("the L2 regularizer is lambda/2 times the sum of squared parameters") {
  Param A{{2, 2}, "A"}, v{{3}, "v"};
  const Bindings at =
      bind({{"A", f64({2, 2}, {1.0, -2.0, 0.5, 3.0})}, {"v", f64({3}, {0.1, 0.2, -0.3})}});
  const double squares = 1 + 4 + 0.25 + 9 + 0.01 + 0.04 + 0.09;
  CHECK(eval(nn::l2({A, v}, 0.3), at)[0] == Approx(0.15 * squares).epsilon(1e-15));
}

TEST_CASE("activations evaluate to their formulas") {
  Input x{{1}, "x"};
  const std::vector<double> xs = {-50.0, -3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0, 50.0};
  const Bindings at = bind({{"x", f64({static_cast<int64_t>(xs.size()), 1}, xs)}});
  struct Case {
    const char* name;
    Expr e;
    double (*f)(double);
  };
  const Case cases[] = {
      {"softplus", softplus(x),
       [](double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))); }},
      {"gelu", gelu(x), [](double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }},
      {"silu", silu(x), [](double v) { return v / (1.0 + std::exp(-v)); }},
      {"leaky_relu", leaky_relu(x), [](double v) { return v > 0 ? v : 0.01 * v; }},
      {"leaky_relu 0.2", leaky_relu(x, 0.2), [](double v) { return v > 0 ? v : 0.2 * v; }},
      {"elu", elu(x), [](double v) { return v > 0 ? v : std::expm1(v); }},
      {"nn::Softplus", nn::Layer(nn::Softplus())(x),
       [](double v) { return std::log1p(std::exp(v)); }},
      {"nn::GELU", nn::Layer(nn::GELU())(x),
       [](double v) { return 0.5 * v * std::erfc(-v / std::sqrt(2.0)); }},
      {"nn::SiLU", nn::Layer(nn::SiLU())(x), [](double v) { return v / (1.0 + std::exp(-v)); }},
      {"nn::LeakyReLU", nn::Layer(nn::LeakyReLU(0.2))(x),
       [](double v) { return v > 0 ? v : 0.2 * v; }},
      {"nn::ELU", nn::Layer(nn::ELU())(x), [](double v) { return v > 0 ? v : std::exp(v) - 1.0; }},
      {"nn::ReLU", nn::Layer(nn::ReLU())(x), [](double v) { return v > 0 ? v : 0.0; }},
      {"nn::Identity", nn::Layer(nn::Identity())(x), [](double v) { return v; }},
      {"softsign", softsign(x), [](double v) { return v / (1.0 + std::abs(v)); }},
      {"nn::Softsign", nn::Layer(nn::Softsign())(x),
       [](double v) { return v / (1.0 + std::abs(v)); }},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Tensor got = eval(c.e, at);
    for (size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      // Relative accuracy, and absolute to 1e-16 where softplus(-50) = 2e-22 underflows in 1 + e^x.
      CHECK(got[static_cast<int64_t>(i)] == Approx(c.f(xs[i])).epsilon(1e-13).margin(1e-16));
    }
  }
  // softplus = relu(x) + log(1 + e^-|x|) never evaluates e^x for a large x.
  CHECK(eval(softplus(x), at)[8] == 50.0);
  CHECK(eval(softplus(x), bind({{"x", f64({1, 1}, {1000.0})}}))[0] == 1000.0);
}

TEST_CASE("kiln::grad is an expression with the values of ir::grad") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  Target c{{3}, "c"};
  const auto loss = mse(kiln::tanh(W * y), c);
  const Lowered l = lower({{"dW", kiln::grad(loss, W)}, {"loss", loss}}, DType::F64);
  const Bindings at = test::random_bindings(l.graph, 4, 9);
  const ir::Graph g = ir::grad(l.graph, "loss", {"W"});
  CHECK(ir::interpret_node(l.graph, l.graph.output("dW"), at).data ==
        ir::interpret_node(g, g.output("grad_W"), at).data);
}

namespace {

/** An input that counts how often it is lowered. */
struct Counted : ExprBase<Counted> {
  using StaticShape = AnyShape;
  Input<> x;
  int* count;
  ir::Val lower(LowerCtx& c) const {
    ++*count;
    return x.lower(c);
  }
};

} // namespace

TEST_CASE("shared sub-expressions lower once: a Dense net 16 layers deep") {
  // Each Dense layer uses its input twice (concat(u, s(K u + b))); without memoization the
  // input would lower 2^16 times.
  int count = 0;
  const Expr in = Counted{{}, Input<>{{2}, "y"}, &count};
  nn::Sequential net{nn::Linear(2, 2)};
  for (int64_t k = 0; k < 16; ++k)
    net.push_back(nn::Dense(2 + 2 * k, 2));
  const Lowered l = lower({{"F", net(in)}});
  CHECK(count == 1);
  CHECK_NOTHROW(ir::verify(l.graph));
  CHECK(l.graph.node(l.graph.output("F")).type.shape == ir::Shape{ir::kBatch, 34});
  CHECK(l.params.size() == 34);
  // Linear in depth: every Dense layer adds the same number of nodes.
  count = 0;
  nn::Sequential shallow{nn::Linear(2, 2)};
  for (int64_t k = 0; k < 15; ++k)
    shallow.push_back(nn::Dense(2 + 2 * k, 2));
  const size_t per_layer = l.graph.size() - lower({{"F", shallow(in)}}).graph.size();
  CHECK(per_layer <= 8);
  CHECK(count == 1);
}

TEST_CASE("a type-erased Expr used twice lowers once") {
  int count = 0;
  const Expr in = Counted{{}, Input<>{{3}, "x"}, &count};
  const Expr h = kiln::tanh(in);
  const Lowered l = lower({{"a", h + h}, {"b", mul(h, h)}});
  CHECK(count == 1);
  CHECK(l.graph.size() == 4); // x, tanh, add, mul
}

TEST_CASE("elementwise<Op> and reduce<Op> reach any op of the registry, each the op it names") {
  Input x{{3}, "x"};
  const Bindings at = bind({{"x", f64({2, 3}, {1, -2, 3, -4, 5, -6})}});
  CHECK(eval(elementwise<ir::Op::Abs>(x), at).data == std::vector<double>{1, 2, 3, 4, 5, 6});
  CHECK(eval(reduce<ir::Op::Max>(x, {-1}), at).data == std::vector<double>{3, 5});
  CHECK(eval(reduce<ir::Op::Sum>(x, {0}), at).data == std::vector<double>{-3, 3, -3});
  CHECK(eval(reduce_all<ir::Op::Mean>(x), at).data == std::vector<double>{-0.5});
  CHECK(eval(min(x, {1}), at).data == std::vector<double>{-2, -6});
  // Each reduction lowers to its own op (no reduction stands in for another).
  for (ir::Op op : ir::all_ops()) {
    if (ir::op_def(op).kind != ir::OpKind::Reduce)
      continue;
    LowerCtx c(DType::F64);
    const ir::Val v = detail::lower_reduce(op, x.lower(c), {1}, false);
    CHECK(c.builder().node(v.id()).op == op);
  }
}

TEST_CASE("point sets have their own row counts, and columns, d, d2 and laplacian reach inputs") {
  // u(x, y) = x^2 y + sin(y) at 3 interior points: u_x = 2xy, u_xx = 2y, u_yy = -sin(y).
  Points p(3, {2}, "interior");
  const Expr x = column(p, 0), y = column(p, 1);
  const Expr u = mul(mul(x, x), y) + sin(y);
  const Bindings at = bind({{"interior", f64({3, 2}, {0.5, 1.0, -1.0, 2.0, 2.0, -0.5})}});
  const Tensor ux = eval(d(u, p, 0), at), uxx = eval(d2(u, p, 0), at);
  const Tensor uyy = eval(d2(u, p, 1), at), lap = eval(laplacian(u, p, 2), at);
  const Tensor xs = eval(x, at), ys = eval(y, at);
  CHECK(ux.dims == std::vector<int64_t>{3, 1});
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(ux[i] == Approx(2 * xs[i] * ys[i]));
    CHECK(uxx[i] == Approx(2 * ys[i]));
    CHECK(uyy[i] == Approx(-std::sin(ys[i])));
    CHECK(lap[i] == Approx(2 * ys[i] - std::sin(ys[i])));
  }
  CHECK(eval(column(p, -1), at).data == ys.data);
  // jvp with any direction: d/dt u(p + t v) at t = 0.
  const Tensor j =
      eval(jvp(u, p, Points(3, {2}, "v")),
           bind({{"interior", at.at("interior")}, {"v", f64({3, 2}, {1, 0, 0, 1, 1, 1})}}));
  CHECK(j[0] == Approx(2 * 0.5 * 1.0));       // along x
  CHECK(j[1] == Approx(1.0 + std::cos(2.0))); // along y: x^2 + cos(y)
  CHECK(j[2] == Approx(2 * 2.0 * -0.5 + 4.0 + std::cos(-0.5)));
  // A learnable scalar.
  Param<> c = Param<>::scalar("c", 0.25);
  CHECK(init_parameters(lower({{"cu", c * u}}).params, 1).at("c").data ==
        std::vector<double>{0.25});
  CHECK_THROWS_WITH(eval(d(u, p, 2), at),
                    Catch::Matchers::StartsWith("[d] column 2 of f64[3,2]: expected points"));
  CHECK_THROWS_WITH(eval(columns(p, 1, 1), at),
                    Catch::Matchers::StartsWith("[columns] [1, 1) is empty or outside the 2"));
}
