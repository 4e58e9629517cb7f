// fold_constants: constants evaluated at compile time, rounded to their dtype.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::with_xy;

TEST_CASE("fold_constants: elementwise ops on constants become constants") {
  check_pass(fold_constants, R"(
    %x = input {name="x"} : f64[N,3]
    %a = constant {value=2.0} : f64[N,3]
    %b = constant {value=3.0} : f64[N,3]
    %m = mul(%a, %b) : f64[N,3]
    %s = sub(%m, %a) : f64[N,3]
    %n = neg(%s) : f64[N,3]
    %g = greater(%a, %b) : f64[N,3]
    %y = add(%x, %n) : f64[N,3]
    %z = mul(%y, %g) : f64[N,3]
    output z = %z
  )",
             R"(
    %x = input {name="x"} : f64[N,3]
    %a = constant {value=2.0} : f64[N,3]
    %b = constant {value=3.0} : f64[N,3]
    %m = constant {value=6.0} : f64[N,3]
    %s = constant {value=4.0} : f64[N,3]
    %n = constant {value=-4.0} : f64[N,3]
    %g = constant {value=0.0} : f64[N,3]
    %y = add(%x, %n) : f64[N,3]
    %z = mul(%y, %g) : f64[N,3]
    output z = %z
  )");
}

TEST_CASE("fold_constants: a folded value is rounded to the node's dtype") {
  check_pass(fold_constants, R"(
    %a = constant {value=7.0} : i32[]
    %b = constant {value=2.0} : i32[]
    %q = div(%a, %b) : i32[]
    output q = %q
  )",
             R"(
    %a = constant {value=7.0} : i32[]
    %b = constant {value=2.0} : i32[]
    %q = constant {value=3.0} : i32[]
    output q = %q
  )");
  const double third_f32 = static_cast<double>(static_cast<float>(1.0 / 3.0));
  check_pass(fold_constants, R"(
    %a = constant {value=1.0} : f32[]
    %b = constant {value=3.0} : f32[]
    %q = div(%a, %b) : f32[]
    output q = %q
  )",
             str(R"(
    %a = constant {value=1.0} : f32[]
    %b = constant {value=3.0} : f32[]
    %q = constant {value=)",
                 format_double(third_f32), R"(} : f32[]
    output q = %q
  )"));
  CHECK(third_f32 != 1.0 / 3.0); // the case above really rounds
}

TEST_CASE("fold_constants: movement of a constant is a constant of the new shape") {
  check_pass(fold_constants, R"(
    %c = constant {value=1.5} : f64[3]
    %b = broadcast(%c) {shape=[N,3]} : f64[N,3]
    %r = reshape(%b) {shape=[N,3,1]} : f64[N,3,1]
    %t = transpose(%c) {perm=[0]} : f64[3]
    %s = slice(%b) {axis=1, begin=1, end=3} : f64[N,2]
    %x = input {name="x"} : f64[N,3,1]
    %y = add(%x, %r) : f64[N,3,1]
    output y = %y
    output t = %t
    output s = %s
  )",
             R"(
    %c = constant {value=1.5} : f64[3]
    %b = constant {value=1.5} : f64[N,3]
    %r = constant {value=1.5} : f64[N,3,1]
    %s = constant {value=1.5} : f64[N,2]
    %x = input {name="x"} : f64[N,3,1]
    %y = add(%x, %r) : f64[N,3,1]
    output y = %y
    output t = %c
    output s = %s
  )");
}

TEST_CASE("fold_constants: concat folds only parts with one value") {
  check_pass(fold_constants, R"(
    %a = constant {value=2.0} : f64[N,2]
    %b = constant {value=2.0} : f64[N,3]
    %c = constant {value=5.0} : f64[N,3]
    %same = concat(%a, %b) {axis=1} : f64[N,5]
    %diff = concat(%a, %c) {axis=1} : f64[N,5]
    output same = %same
    output diff = %diff
  )",
             R"(
    %a = constant {value=2.0} : f64[N,2]
    %b = constant {value=2.0} : f64[N,3]
    %c = constant {value=5.0} : f64[N,3]
    %same = constant {value=2.0} : f64[N,5]
    %diff = concat(%a, %c) {axis=1} : f64[N,5]
    output same = %same
    output diff = %diff
  )");
}

TEST_CASE("fold_constants: sums with a static count fold, sums over N do not") {
  check_pass(fold_constants, R"(
    %c = constant {value=1.5} : f64[N,4,2]
    %s = sum(%c) {axes=[1,2]} : f64[N]
    %m = mean(%c) {axes=[0]} : f64[4,2]
    %k = max(%c) {axes=[0,1]} : f64[2]
    %n = sum(%c) {axes=[0]} : f64[4,2]
    output s = %s
    output m = %m
    output k = %k
    output n = %n
  )",
             R"(
    %c = constant {value=1.5} : f64[N,4,2]
    %s = constant {value=12.0} : f64[N]
    %m = constant {value=1.5} : f64[4,2]
    %k = constant {value=1.5} : f64[2]
    %n = sum(%c) {axes=[0]} : f64[4,2]
    output s = %s
    output m = %m
    output k = %k
    output n = %n
  )");
}

TEST_CASE("fold_constants: matmul of constants, and with a zero operand even over N") {
  check_pass(fold_constants, R"(
    %a = constant {value=2.0} : f64[3,4]
    %b = constant {value=0.5} : f64[4,5]
    %p = matmul(%a, %b) {ta=0, tb=0} : f64[3,5]
    %t = matmul(%a, %a) {ta=1, tb=0} : f64[4,4]
    %u = constant {value=2.0} : f64[3,N]
    %z = constant {value=0.0} : f64[N,5]
    %w = constant {value=3.0} : f64[N,5]
    %zero = matmul(%u, %z) {ta=0, tb=0} : f64[3,5]
    %overn = matmul(%u, %w) {ta=0, tb=0} : f64[3,5]
    output p = %p
    output t = %t
    output zero = %zero
    output overn = %overn
  )",
             R"(
    %a = constant {value=2.0} : f64[3,4]
    %b = constant {value=0.5} : f64[4,5]
    %p = constant {value=4.0} : f64[3,5]
    %t = constant {value=12.0} : f64[4,4]
    %u = constant {value=2.0} : f64[3,N]
    %z = constant {value=0.0} : f64[N,5]
    %w = constant {value=3.0} : f64[N,5]
    %zero = constant {value=0.0} : f64[3,5]
    %overn = matmul(%u, %w) {ta=0, tb=0} : f64[3,5]
    output p = %p
    output t = %t
    output zero = %zero
    output overn = %overn
  )");
}
