// verify: the graph invariants every pass keeps.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::with_xy;

TEST_CASE("verify rejects a leaf without its attribute") {
  Builder b;
  b.make(Op::Input, {}, Attrs(), Type{DType::F32, Shape{kBatch, 2}});
  CHECK_THROWS_WITH(verify(b.graph()), Catch::Contains("[verify] leaf without its attribute") &&
                                           Catch::Contains("input : f32[N,2]"));
  Builder c;
  c.make(Op::Constant, {}, Attrs().set("name", "k"), Type{DType::F32, Shape{3}});
  CHECK_THROWS_AS(verify(c.graph()), InternalError);
  Builder ok;
  ok.constant(1.0, Type{DType::F32, Shape{3}});
  CHECK_NOTHROW(verify(ok.graph()));
}
