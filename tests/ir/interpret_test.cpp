// The reference interpreter: its two precisions, batch handling, and its errors.

#include <catch2/catch.hpp>

#include <cmath>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/interpret.h"
#include "ir/val.h"
#include "tests/ir/random_bindings.h"

using namespace kiln;
using namespace kiln::ir;
using Catch::Contains;

namespace {

/** x + 1e-8 for a scalar input x of `dtype`. */
Graph add_tiny(DType dtype) {
  Builder b;
  const Val x(b, b.input("x", Type{dtype, Shape{kBatch}}));
  b.set_output("y", (x + 1e-8).id());
  return b.graph();
}

Bindings ones(DType dtype) {
  Bindings at;
  at.emplace("x", Tensor(dtype, {2}, 1.0));
  return at;
}

} // namespace

TEST_CASE("interpret: f32 nodes round in Native precision and not in F64") {
  const Graph g = add_tiny(DType::F32);
  const Tensor exact = interpret(g, ones(DType::F32), Precision::F64)[0];
  const Tensor native = interpret(g, ones(DType::F32), Precision::Native)[0];
  CHECK(exact[0] == 1.0 + 1e-8);
  CHECK(native[0] == 1.0); // 1e-8 is below half an ulp of 1.0f
  CHECK(native[1] == static_cast<double>(1.0f + 1e-8f));
}

TEST_CASE("interpret: f64 nodes agree in both precisions") {
  const Graph g = add_tiny(DType::F64);
  CHECK(interpret(g, ones(DType::F64), Precision::Native)[0][0] == 1.0 + 1e-8);
  CHECK(interpret(g, ones(DType::F64), Precision::F64)[0][0] == 1.0 + 1e-8);
}

TEST_CASE("interpret: integer nodes always hold integers") {
  Builder b;
  const Val x(b, b.input("x", Type{DType::I32, Shape{kBatch}}));
  b.set_output("q", (x / 2.0).id());
  Bindings at;
  at.emplace("x", Tensor(DType::I32, {3}, {7.0, -7.0, 4.0}));
  for (Precision p : {Precision::F64, Precision::Native})
    CHECK(interpret(b.graph(), at, p)[0].data == std::vector<double>{3.0, -3.0, 2.0});
}

TEST_CASE("interpret: an f32 network agrees with its f64 evaluation to f32 precision") {
  Input y{{2}, "y"};
  nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                     nn::Linear(10, 3)};
  const Lowered l = lower({{"F", net(y)}});
  Bindings at = test::random_bindings(l.graph, 8, 3);
  const Tensor exact = interpret(l.graph, at, Precision::F64)[0];
  const Tensor native = interpret(l.graph, at, Precision::Native)[0];
  REQUIRE(exact.dims == native.dims);
  bool any_differs = false;
  for (int64_t i = 0; i < exact.numel(); ++i) {
    CHECK(native[i] == Approx(exact[i]).epsilon(1e-5).margin(1e-6));
    CHECK(native[i] == static_cast<double>(static_cast<float>(native[i])));
    any_differs = any_differs || native[i] != exact[i];
  }
  CHECK(any_differs);
}

TEST_CASE("interpret: the batch size comes from the bound leaves") {
  Builder b;
  const Val x(b, b.input("x", Type{DType::F64, Shape{kBatch, 2}}));
  const Val w(b, b.param("w", Type{DType::F64, Shape{2}}));
  b.set_output("s", sum(x * w + 1.0, {1}).id());
  Rng rng(1);
  for (int64_t n : {1, 4, 7}) {
    Bindings at;
    at.emplace("x", test::random_tensor(DType::F64, {n, 2}, rng));
    at.emplace("w", Tensor(DType::F64, {2}, {2.0, -1.0}));
    const Tensor s = interpret(b.graph(), at)[0];
    REQUIRE(s.dims == std::vector<int64_t>{n});
    for (int64_t i = 0; i < n; ++i)
      CHECK(s[i] == Approx(2.0 * at.at("x")[2 * i] - at.at("x")[2 * i + 1] + 2.0));
  }
}

TEST_CASE("interpret_node needs only the leaves its node depends on") {
  Builder b;
  const Val x(b, b.input("x", Type{DType::F64, Shape{kBatch}}));
  const Val z(b, b.input("z", Type{DType::F64, Shape{kBatch}}));
  const Val ex = exp(x);
  b.set_output("e", ex.id());
  b.set_output("z", (z * 2.0).id());
  Bindings at;
  at.emplace("x", Tensor(DType::F64, {1}, 0.0));
  CHECK(interpret_node(b.graph(), ex.id(), at)[0] == 1.0);
  CHECK_THROWS_WITH(interpret(b.graph(), at),
                    Contains("[interpret] no value bound for input 'z' (f64[N])"));
}

TEST_CASE("interpret errors: missing binding, wrong static dims, batch sizes that disagree") {
  Input y{{2}, "y"};
  Labels c{3, "c"};
  Param W{{3, 2}, "W"};
  const Lowered l = lower({{"loss", cross_entropy(W * y, c)}});
  Bindings at;
  at.emplace("y", Tensor(DType::F32, {5, 2}, 0.5));
  at.emplace("c", Tensor(DType::I32, {5}, 1.0));
  SECTION("missing binding") {
    CHECK_THROWS_WITH(interpret(l.graph, at),
                      Contains("[interpret] no value bound for param 'W' (f32[3,2])"));
  }
  at.emplace("W", Tensor(DType::F32, {3, 2}, 0.1));
  SECTION("everything bound") {
    CHECK(std::isfinite(interpret(l.graph, at)[0][0]));
  }
  SECTION("wrong static dims") {
    at["W"] = Tensor(DType::F32, {2, 3}, 0.1);
    CHECK_THROWS_WITH(
        interpret(l.graph, at),
        Contains("[interpret] param 'W' expects f32[3,2], got a value of shape [2,3]"));
    at["W"] = Tensor(DType::F32, {6}, 0.1);
    CHECK_THROWS_WITH(interpret(l.graph, at),
                      Contains("[interpret] param 'W' expects f32[3,2], got a value of shape [6]"));
  }
  SECTION("batch sizes that disagree") {
    at["c"] = Tensor(DType::I32, {4}, 1.0);
    const std::string msg = [&] {
      try {
        interpret(l.graph, at);
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string("<nothing thrown>");
    }();
    CHECK_THAT(msg, Contains("[interpret] the batch size differs between leaves"));
    CHECK_THAT(msg, Contains("has 5") && Contains("has 4") && Contains("'y'") && Contains("'c'"));
  }
  SECTION("a label outside the classes") {
    at["c"] = Tensor(DType::I32, {5}, {0.0, 1.0, 2.0, 3.0, 0.0});
    CHECK_THROWS_WITH(interpret(l.graph, at),
                      Contains("[gather] index 3 at position 3 is outside [0, 3)"));
  }
}
