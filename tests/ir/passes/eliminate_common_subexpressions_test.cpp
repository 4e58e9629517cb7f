// eliminate_common_subexpressions: equal nodes merge, commutative operands in any order.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::with_xy;

TEST_CASE("eliminate_common_subexpressions: commutative operands merge, others do not") {
  check_pass(eliminate_common_subexpressions, with_xy(R"(
    %a = add(%x, %y) : f64[N,3]
    %b = add(%y, %x) : f64[N,3]
    %m = mul(%a, %b) : f64[N,3]
    %k = maximum(%y, %x) : f64[N,3]
    output m = %m
    output k = %k
  )"),
             with_xy(R"(
    %a = add(%x, %y) : f64[N,3]
    %m = mul(%a, %a) : f64[N,3]
    %k = maximum(%x, %y) : f64[N,3]
    output m = %m
    output k = %k
  )"));
  const std::string sub = with_xy(R"(
    %a = sub(%x, %y) : f64[N,3]
    %b = sub(%y, %x) : f64[N,3]
    %c = div(%y, %x) : f64[N,3]
    %m = mul(%a, %b) : f64[N,3]
    %n = mul(%c, %m) : f64[N,3]
    output n = %n
  )");
  check_pass(eliminate_common_subexpressions, sub, sub);
}
