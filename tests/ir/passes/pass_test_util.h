#pragma once
// What the tests of the graph passes share: Before/Expected checks of one pass (as Halide's pass
// tests), graphs that exercise every rule, the course's networks, and value comparisons.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "ir/val.h"
#include "tests/ir/random_bindings.h"
#include "tests/support/random_graph.h"

namespace kiln::test {

using namespace kiln::ir;

using Pass = Graph (*)(const Graph&);

/**
 * Parses `before`, runs `pass`, and compares the listing with `expected` parsed and printed
 * again (so ids and whitespace need not match). On a mismatch prints input, got and expected.
 */
inline void check_pass(Pass pass, std::string_view before, std::string_view expected) {
  const Graph in = parse_graph(before);
  const Graph got = pass(in);
  const std::string got_text = to_text(got);
  const std::string want_text = to_text(parse_graph(expected));
  if (got_text != want_text)
    FAIL_CHECK("pass gave the wrong result\ninput:\n"
               << to_text(in) << "got:\n"
               << got_text << "expected:\n"
               << want_text);
  else
    SUCCEED();
  CHECK_NOTHROW(verify(got));
}

/** Two f64[N,3] inputs every simplify case starts from. */
inline std::string with_xy(std::string_view body) {
  return std::string("%x = input {name=\"x\"} : f64[N,3]\n%y = input {name=\"y\"} : f64[N,3]\n") +
         std::string(body);
}

/** Largest |a - b| / (1 + |b|) over two lists of tensors of the same shapes. */
inline double max_rel_diff(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].dims == b[i].dims);
    for (int64_t k = 0; k < a[i].numel(); ++k)
      worst = std::max(worst, std::abs(a[i][k] - b[i][k]) / (1.0 + std::abs(b[i][k])));
  }
  return worst;
}

/**
 * A random graph over x, z: f64[N,3], w: f64[3] and M: f64[3,3] that exercises every rule of
 * the passes: neutral and absorbing constants, negations, squares, broadcasts, movement chains,
 * commutative duplicates and constant subexpressions. Values stay finite.
 */
inline Graph rule_exercising_graph(uint64_t seed) {
  Builder b;
  Rng rng(seed);
  const Type mat{DType::F64, Shape{kBatch, 3}};
  const Val M(b, b.param("M", Type{DType::F64, Shape{3, 3}}));
  std::vector<Val> pool = {Val(b, b.input("x", mat)), Val(b, b.input("z", mat)),
                           Val(b, b.param("w", Type{DType::F64, Shape{3}}))};
  auto pick = [&] { return pool[rng.below(static_cast<uint32_t>(pool.size()))]; };
  auto full = [&](const Val& v) { return broadcast_to(v, mat.shape); };
  const double consts[] = {0.0, 1.0, -1.0, 2.0};
  for (int step = 0; step < 14; ++step) {
    const Val a = pick(), c = pick();
    const double k = consts[rng.below(4)];
    Val r;
    switch (rng.below(18)) {
    case 0:
      r = a + c;
      break;
    case 1:
      r = a - c;
      break;
    case 2:
      r = a * c;
      break;
    case 3:
      r = a / (1.0 + square(c));
      break;
    case 4:
      r = -a;
      break;
    case 5:
      r = tanh(a);
      break;
    case 6:
      r = a * k;
      break;
    case 7:
      r = k + a;
      break;
    case 8:
      r = select(greater(a, c), a, c);
      break;
    case 9:
      r = select(greater(a, c), a, a);
      break;
    case 10:
      r = matmul(full(a), transpose(transpose(M)));
      break;
    case 11:
      r = expand_to(sum(full(a), {1}), mat.shape, {1});
      break;
    case 12:
      r = reshape(reshape(full(a), Shape{kBatch, 3, 1}), mat.shape);
      break;
    case 13:
      r = (constant(b, 2.0, a.type()) * constant(b, 3.0, a.type()) - 6.0) * c + a;
      break;
    case 14:
      r = 0.0 - a;
      break;
    case 15:
      r = a * a + c * c;
      break;
    case 16:
      r = exp(tanh(a)) + (-c);
      break;
    default:
      r = (a + c) * (c + a) - (-(-a));
      break;
    }
    pool.push_back(r);
  }
  b.set_output("last", pool.back().id());
  b.set_output("total", sum_all(full(pool[pool.size() - 2]) * full(pool.back())).id());
  return b.graph();
}

/** The course's networks and their gradients, lowered in f64. */
inline std::vector<std::pair<std::string, Graph>> course_graphs() {
  std::vector<std::pair<std::string, Graph>> out;
  {
    Input y{{2}, "y"};
    Labels c{3, "c"};
    Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
    const Lowered net = lower({{"loss", cross_entropy(W * kiln::tanh(K * y + b), c)}}, DType::F64);
    out.emplace_back("demo", ir::grad(net.graph, "loss", {"K", "b", "W", "y"}));
  }
  {
    Input y{{2}, "y"};
    Target c{{3}, "c"};
    nn::Sequential net{nn::Linear(2, 14), nn::Sigmoid(),    nn::Linear(14, 10),
                       nn::Tanh(),        nn::Residual(10), nn::Linear(10, 3)};
    const Lowered l = lower(
        {{"loss", cross_entropy(net(y), c) + nn::l2(net.parameters(), 0.01)}, {"out", net(y)}},
        DType::F64);
    std::vector<std::string> wrt{"y"};
    for (const ParamSpec& p : l.params)
      wrt.push_back(p.name);
    out.emplace_back("mlp", ir::grad(l.graph, "loss", wrt));
  }
  {
    Input x{{1}, "x"};
    nn::Sequential net{nn::Linear(1, 8), nn::Tanh(), nn::Linear(8, 1)};
    const Expr u = net(x);
    const auto d2u = kiln::grad(kiln::sum(kiln::grad(kiln::sum(u), x)), x);
    const Lowered l = lower({{"pinn", kiln::mean(kiln::square(d2u - kiln::sin(x)))}}, DType::F64);
    std::vector<std::string> wrt;
    for (const ParamSpec& p : l.params)
      wrt.push_back(p.name);
    out.emplace_back("pinn", ir::grad(l.graph, "pinn", wrt));
  }
  return out;
}

inline void check_same_values(const Graph& before, const Graph& after, uint64_t seed) {
  const Bindings at = random_bindings(before, 4, seed, 3);
  const double diff = max_rel_diff(interpret(after, at), interpret(before, at));
  INFO("before:\n" << to_text(before) << "after:\n" << to_text(after));
  CHECK(diff < 1e-12);
}

} // namespace kiln::test
