// optimize (ir/pipeline.cpp): the passes together keep every value, on random graphs and
// the course's networks, and reach a fixed point.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::check_same_values;
using kiln::test::course_graphs;
using kiln::test::max_rel_diff;
using kiln::test::Pass;
using kiln::test::rule_exercising_graph;
using kiln::test::with_xy;

TEST_CASE("optimize: the passes together") {
  check_pass(optimize, R"(
    %x = input {name="x"} : f64[N,3]
    %y = input {name="y"} : f64[N,3]
    %one = constant {value=1.0} : f64[N,3]
    %two = constant {value=2.0} : f64[N,3]
    %three = constant {value=3.0} : f64[N,3]
    %a = mul(%x, %one) : f64[N,3]
    %p = mul(%two, %three) : f64[N,3]
    %q = sub(%p, %p) : f64[N,3]
    %b = mul(%y, %q) : f64[N,3]
    %c = add(%a, %b) : f64[N,3]
    %d = add(%y, %x) : f64[N,3]
    %e = add(%x, %y) : f64[N,3]
    %f = mul(%d, %e) : f64[N,3]
    output r = %c
    output s = %f
  )",
             R"(
    %x = input {name="x"} : f64[N,3]
    %y = input {name="y"} : f64[N,3]
    %d = add(%x, %y) : f64[N,3]
    %f = square(%d) : f64[N,3]
    output r = %x
    output s = %f
  )");
}

TEST_CASE("every pass keeps the values of random graphs, and its result verifies") {
  const std::pair<const char*, Pass> passes[] = {
      {"fold_constants", fold_constants},
      {"simplify", simplify},
      {"eliminate_common_subexpressions", eliminate_common_subexpressions},
      {"eliminate_dead_nodes", eliminate_dead_nodes},
      {"optimize", optimize},
  };
  int shrunk = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const Graph g = rule_exercising_graph(seed);
    REQUIRE_NOTHROW(verify(g));
    for (const auto& [name, pass] : passes) {
      INFO("seed " << seed << ", pass " << name);
      const Graph out = pass(g);
      CHECK_NOTHROW(verify(out));
      CHECK(out.outputs().size() == g.outputs().size());
      check_same_values(g, out, seed);
    }
    shrunk += optimize(g).size() < g.size();
  }
  CHECK(shrunk == 40); // the generator really gives the passes work
}

TEST_CASE("optimize keeps the values of the course's networks and their gradients") {
  for (const auto& [name, g] : course_graphs()) {
    INFO(name);
    const Graph o = optimize(g);
    CHECK(o.size() < g.size());
    for (uint64_t seed : {1u, 2u})
      check_same_values(g, o, seed);
  }
}

TEST_CASE("optimize keeps the values of random graphs with gradients (codegen's generator)") {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    INFO("seed " << seed);
    const test::RandomGraph r = test::random_graph(seed, DType::F64);
    const Graph o = optimize(r.graph);
    INFO("before:\n" << to_text(r.graph) << "after:\n" << to_text(o));
    CHECK(max_rel_diff(interpret(o, r.values), interpret(r.graph, r.values)) < 1e-12);
    CHECK(optimize(o) == o);
  }
}

TEST_CASE("optimize reaches a fixed point") {
  std::vector<std::pair<std::string, Graph>> graphs = course_graphs();
  for (uint64_t seed = 1; seed <= 20; ++seed)
    graphs.emplace_back("random " + std::to_string(seed), rule_exercising_graph(seed));
  for (const auto& [name, g] : graphs) {
    INFO(name);
    const Graph o = optimize(g);
    INFO(to_text(o));
    CHECK(optimize(o) == o);
    CHECK(fold_constants(o) == o);
    CHECK(simplify(o) == o);
    CHECK(eliminate_common_subexpressions(o) == o);
    CHECK(eliminate_dead_nodes(o) == o);
  }
}
