// eliminate_dead_nodes: what no output needs goes; the graph's leaves stay.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::with_xy;

TEST_CASE("eliminate_dead_nodes: unused chains go, leaves stay") {
  check_pass(eliminate_dead_nodes, R"(
    %x = input {name="x"} : f64[N,3]
    %w = param {name="w"} : f64[3]
    %k = constant {value=2.0} : f64[N,3]
    %e = exp(%x) : f64[N,3]
    %t = tanh(%e) : f64[N,3]
    %u = mul(%t, %k) : f64[N,3]
    %s = sin(%x) : f64[N,3]
    output y = %s
  )",
             R"(
    %x = input {name="x"} : f64[N,3]
    %w = param {name="w"} : f64[3]
    %s = sin(%x) : f64[N,3]
    output y = %s
  )");
}
