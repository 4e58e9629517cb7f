// The graph passes: Before/Expected IR listings per rule (as Halide's pass tests), the
// pipeline's fixed point, verify, and a semantic check that optimize() keeps every output's value.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "ir/val.h"
#include "tests/ir/random_bindings.h"
#include "tests/support/random_graph.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

using Pass = Graph (*)(const Graph&);

/**
 * Parses `before`, runs `pass`, and compares the listing with `expected` parsed and printed
 * again (so ids and whitespace need not match). On a mismatch prints input, got and expected.
 */
void check_pass(Pass pass, std::string_view before, std::string_view expected) {
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
std::string with_xy(std::string_view body) {
  return std::string("%x = input {name=\"x\"} : f64[N,3]\n%y = input {name=\"y\"} : f64[N,3]\n") +
         std::string(body);
}

/** Largest |a - b| / (1 + |b|) over two lists of tensors of the same shapes. */
double max_rel_diff(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].dims == b[i].dims);
    for (int64_t k = 0; k < a[i].numel(); ++k)
      worst = std::max(worst, std::abs(a[i][k] - b[i][k]) / (1.0 + std::abs(b[i][k])));
  }
  return worst;
}

} // namespace

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

TEST_CASE("simplify: additive identities") {
  const char* zero = "%z = constant {value=0.0} : f64[N,3]\n";
  check_pass(simplify, with_xy(zero) + "%r = add(%x, %z) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %x");
  check_pass(simplify, with_xy(zero) + "%r = add(%z, %x) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %x");
  check_pass(simplify, with_xy(zero) + "%r = sub(%x, %z) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %x");
  check_pass(simplify, with_xy(zero) + "%r = sub(%z, %x) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "%n = neg(%x) : f64[N,3]\noutput r = %n");
}

TEST_CASE("simplify: multiplicative identities") {
  const char* one = "%o = constant {value=1.0} : f64[N,3]\n";
  const char* zero = "%z = constant {value=0.0} : f64[N,3]\n";
  const char* minus = "%m = constant {value=-1.0} : f64[N,3]\n";
  check_pass(simplify, with_xy(one) + "%r = mul(%x, %o) : f64[N,3]\noutput r = %r",
             with_xy(one) + "output r = %x");
  check_pass(simplify, with_xy(one) + "%r = mul(%o, %x) : f64[N,3]\noutput r = %r",
             with_xy(one) + "output r = %x");
  check_pass(simplify, with_xy(one) + "%r = div(%x, %o) : f64[N,3]\noutput r = %r",
             with_xy(one) + "output r = %x");
  check_pass(simplify, with_xy(zero) + "%r = mul(%x, %z) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %z");
  check_pass(simplify, with_xy(zero) + "%r = mul(%z, %x) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %z");
  check_pass(simplify, with_xy(zero) + "%r = div(%z, %x) : f64[N,3]\noutput r = %r",
             with_xy(zero) + "output r = %z");
  check_pass(simplify, with_xy(minus) + "%r = mul(%x, %m) : f64[N,3]\noutput r = %r",
             with_xy(minus) + "%n = neg(%x) : f64[N,3]\noutput r = %n");
  check_pass(simplify, with_xy(minus) + "%r = mul(%m, %x) : f64[N,3]\noutput r = %r",
             with_xy(minus) + "%n = neg(%x) : f64[N,3]\noutput r = %n");
  check_pass(simplify, with_xy("%r = mul(%x, %x) : f64[N,3]\noutput r = %r"),
             with_xy("%s = square(%x) : f64[N,3]\noutput r = %s"));
}

TEST_CASE("simplify: negations") {
  check_pass(simplify, with_xy("%n = neg(%x) : f64[N,3]\n%r = neg(%n) : f64[N,3]\noutput r = %r"),
             with_xy("%n = neg(%x) : f64[N,3]\noutput r = %x"));
  check_pass(simplify,
             with_xy("%n = neg(%y) : f64[N,3]\n%r = add(%x, %n) : f64[N,3]\noutput r = %r"),
             with_xy("%n = neg(%y) : f64[N,3]\n%r = sub(%x, %y) : f64[N,3]\noutput r = %r"));
  check_pass(simplify,
             with_xy("%n = neg(%y) : f64[N,3]\n%r = add(%n, %x) : f64[N,3]\noutput r = %r"),
             with_xy("%n = neg(%y) : f64[N,3]\n%r = sub(%x, %y) : f64[N,3]\noutput r = %r"));
  check_pass(simplify,
             with_xy("%n = neg(%y) : f64[N,3]\n%r = sub(%x, %n) : f64[N,3]\noutput r = %r"),
             with_xy("%n = neg(%y) : f64[N,3]\n%r = add(%x, %y) : f64[N,3]\noutput r = %r"));
}

TEST_CASE("simplify: select with equal branches is the branch") {
  const char* cond = "%c = input {name=\"c\"} : f64[N,3]\n";
  check_pass(simplify, with_xy(cond) + "%r = select(%c, %x, %x) : f64[N,3]\noutput r = %r",
             with_xy(cond) + "output r = %x");
  // Different branches stay.
  check_pass(simplify, with_xy(cond) + "%r = select(%c, %x, %y) : f64[N,3]\noutput r = %r",
             with_xy(cond) + "%r = select(%c, %x, %y) : f64[N,3]\noutput r = %r");
}

TEST_CASE("simplify: nested reshapes and broadcasts collapse") {
  check_pass(simplify, with_xy(R"(
    %a = reshape(%x) {shape=[N,3,1]} : f64[N,3,1]
    %b = reshape(%a) {shape=[N,1,3]} : f64[N,1,3]
    output r = %b
  )"),
             with_xy(R"(
    %a = reshape(%x) {shape=[N,3,1]} : f64[N,3,1]
    %b = reshape(%x) {shape=[N,1,3]} : f64[N,1,3]
    output r = %b
  )"));
  check_pass(simplify, with_xy("%a = reshape(%x) {shape=[N,3]} : f64[N,3]\noutput r = %a"),
             with_xy("output r = %x"));
  check_pass(simplify, R"(
    %w = param {name="w"} : f64[3]
    %a = broadcast(%w) {shape=[1,3]} : f64[1,3]
    %b = broadcast(%a) {shape=[N,3]} : f64[N,3]
    output r = %b
  )",
             R"(
    %w = param {name="w"} : f64[3]
    %a = broadcast(%w) {shape=[1,3]} : f64[1,3]
    %b = broadcast(%w) {shape=[N,3]} : f64[N,3]
    output r = %b
  )");
}

TEST_CASE("simplify: a reshape chain back to the input's shape is the input") {
  // Regression: the collapsed reshape(x) to x's own shape used to stay as a no-op node.
  check_pass(simplify, with_xy(R"(
    %a = reshape(%x) {shape=[N,3,1]} : f64[N,3,1]
    %b = reshape(%a) {shape=[N,3]} : f64[N,3]
    output r = %b
  )"),
             with_xy(R"(
    %a = reshape(%x) {shape=[N,3,1]} : f64[N,3,1]
    output r = %x
  )"));
}

TEST_CASE("simplify: transposes compose, and a transpose of a transpose may be the identity") {
  check_pass(simplify, R"(
    %m = param {name="m"} : f64[2,3]
    %t = transpose(%m) {perm=[1,0]} : f64[3,2]
    %u = transpose(%t) {perm=[1,0]} : f64[2,3]
    output r = %u
  )",
             R"(
    %m = param {name="m"} : f64[2,3]
    %t = transpose(%m) {perm=[1,0]} : f64[3,2]
    output r = %m
  )");
  check_pass(simplify, R"(
    %m = param {name="m"} : f64[2,3,4]
    %t = transpose(%m) {perm=[2,0,1]} : f64[4,2,3]
    %u = transpose(%t) {perm=[0,2,1]} : f64[4,3,2]
    output r = %u
  )",
             R"(
    %m = param {name="m"} : f64[2,3,4]
    %t = transpose(%m) {perm=[2,0,1]} : f64[4,2,3]
    %u = transpose(%m) {perm=[2,1,0]} : f64[4,3,2]
    output r = %u
  )");
}

TEST_CASE("simplify: elementwise ops on broadcasts run at the small shape") {
  const char* leaves = R"(
    %w = param {name="w"} : f64[3]
    %v = param {name="v"} : f64[3]
    %bw = broadcast(%w) {shape=[N,3]} : f64[N,3]
    %bv = broadcast(%v) {shape=[N,3]} : f64[N,3]
  )";
  check_pass(simplify, std::string(leaves) + "%r = add(%bw, %bv) : f64[N,3]\noutput r = %r",
             std::string(leaves) + R"(
    %s = add(%w, %v) : f64[3]
    %r = broadcast(%s) {shape=[N,3]} : f64[N,3]
    output r = %r
  )");
  check_pass(simplify, std::string(leaves) + "%r = tanh(%bw) : f64[N,3]\noutput r = %r",
             std::string(leaves) + R"(
    %s = tanh(%w) : f64[3]
    %r = broadcast(%s) {shape=[N,3]} : f64[N,3]
    output r = %r
  )");
  check_pass(simplify, std::string(leaves) + R"(
    %two = constant {value=2.0} : f64[N,3]
    %r = mul(%bw, %two) : f64[N,3]
    output r = %r
  )",
             std::string(leaves) + R"(
    %two = constant {value=2.0} : f64[N,3]
    %small = constant {value=2.0} : f64[3]
    %s = mul(%w, %small) : f64[3]
    %r = broadcast(%s) {shape=[N,3]} : f64[N,3]
    output r = %r
  )");
  // Not hoisted: a full-size operand, or broadcasts from different shapes.
  const std::string mixed = std::string(leaves) + R"(
    %x = input {name="x"} : f64[N,3]
    %u = input {name="u"} : f64[N,1]
    %bu = broadcast(%u) {shape=[N,3]} : f64[N,3]
    %r = add(%bw, %x) : f64[N,3]
    %s = add(%bw, %bu) : f64[N,3]
    output r = %r
    output s = %s
  )";
  check_pass(simplify, mixed, mixed);
}

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

namespace {

/**
 * A random graph over x, z: f64[N,3], w: f64[3] and M: f64[3,3] that exercises every rule of
 * the passes: neutral and absorbing constants, negations, squares, broadcasts, movement chains,
 * commutative duplicates and constant subexpressions. Values stay finite.
 */
Graph rule_exercising_graph(uint64_t seed) {
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
std::vector<std::pair<std::string, Graph>> course_graphs() {
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

void check_same_values(const Graph& before, const Graph& after, uint64_t seed) {
  const Bindings at = test::random_bindings(before, 4, seed, 3);
  const double diff = max_rel_diff(interpret(after, at), interpret(before, at));
  INFO("before:\n" << to_text(before) << "after:\n" << to_text(after));
  CHECK(diff < 1e-12);
}

} // namespace

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
