// simplify: the algebraic identities, one Before/Expected listing per rule.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <string_view>

#include "tests/ir/passes/pass_test_util.h"

using namespace kiln;
using namespace kiln::ir;
using kiln::test::check_pass;
using kiln::test::with_xy;

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

TEST_CASE("simplify: a product with a repeated row needs the row once") {
  // d(u, x, j)'s direction e_j is one row at every point: the first layer's tangent is
  // broadcast(e_j) W^T, and its weight gradient G^T broadcast(e_j).
  const char* leaves = R"(
    %g = input {name="g"} : f64[N,4]
    %w = param {name="w"} : f64[4,3]
    %one = constant {value=1.0} : f64[1,1]
    %zero = constant {value=0.0} : f64[1,2]
    %e = concat(%one, %zero) {axis=1} : f64[1,3]
    %be = broadcast(%e) {shape=[N,3]} : f64[N,3]
  )";
  const std::string tangent =
      std::string(leaves) + "%t = matmul(%be, %w) {ta=0, tb=1} : f64[N,4]\noutput t = %t";
  check_pass(simplify, tangent, std::string(leaves) + R"(
    %p = matmul(%e, %w) {ta=0, tb=1} : f64[1,4]
    %t = broadcast(%p) {shape=[N,4]} : f64[N,4]
    output t = %t
  )");
  const std::string gradient =
      std::string(leaves) + "%d = matmul(%g, %be) {ta=1, tb=0} : f64[4,3]\noutput d = %d";
  const Graph got = simplify(parse_graph(gradient));
  // Column sums of g times the row, with no [N, 3] operand left.
  for (const Node& n : got.nodes())
    if (n.op == Op::MatMul)
      for (NodeId i : n.inputs)
        CHECK(got.node(i).type.shape.dims() != std::vector<int64_t>{kBatch, 3});
  for (const std::string& text : {tangent, gradient}) {
    const Graph before = parse_graph(text);
    kiln::test::check_same_values(before, simplify(before), 11);
  }
}
