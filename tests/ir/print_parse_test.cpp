// The textual IR: to_text and parse_graph are inverses on real graphs, to_dot shows every node
// and edge, and every malformed listing gets a "[parse] line L: ..." message.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "ir/print.h"
#include "ir/val.h"
#include "tests/ir/random_bindings.h"

using namespace kiln;
using namespace kiln::ir;
using Catch::Contains;

namespace {

/** The demo's graph: loss and gradients of F(y) = W tanh(K y + b) with cross-entropy. */
Graph demo_gradients(DType dtype) {
  Input y{{2}, "y"};
  Labels c{3, "c"};
  Param K{{14, 2}, "K"}, b{{14}, "b"}, W{{3, 14}, "W"};
  const Lowered net = lower({{"loss", cross_entropy(W * kiln::tanh(K * y + b), c)}}, dtype);
  return ir::grad(net.graph, "loss", {"K", "b", "W", "y"});
}

void check_round_trip(const Graph& g) {
  const std::string text = to_text(g);
  const Graph back = parse_graph(text);
  INFO(text);
  CHECK(to_text(back) == text);
  CHECK(back == g);
}

/** The message parse_graph throws for `text`, or a note that it threw nothing. */
std::string parse_error(const std::string& text) {
  try {
    parse_graph(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "<parse_graph threw nothing>";
}

} // namespace

TEST_CASE("to_text and parse_graph round-trip the demo's gradient graph") {
  for (DType t : {DType::F32, DType::F64}) {
    const Graph g = demo_gradients(t);
    check_round_trip(g);
    check_round_trip(optimize(g));
  }
}

TEST_CASE("to_text and parse_graph round-trip every attribute kind and awkward constants") {
  Builder b;
  const Val x(b, b.input("x", Type{DType::F64, Shape{kBatch, 2, 3}}));
  const Val labels(b, b.input("labels", Type{DType::I64, Shape{kBatch}}));
  Val acc = transpose(reshape(x, Shape{kBatch, 3, 2}), {0, 2, 1});
  for (double v :
       {0.1, -1.0 / 3.0, 1e-5, 1e300, 5e-324, 123456789.0, -0.0,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()})
    acc = acc + v;
  const Val h = slice(sum(acc, {1}), 1, 1, 3);
  const Val oh = one_hot(labels, 2, DType::F64);
  const Val cat = concat(std::vector<Val>{h, oh}, 1);
  b.set_output("y", cat.id());
  b.set_output("cast", cast(labels, DType::F32).id());
  b.set_output("g", gather(cat, labels).id());
  check_round_trip(b.graph());

  // NaN compares unequal to itself, so its round trip is checked on the text.
  Builder n;
  n.set_output("nan", n.constant(std::nan(""), Type{DType::F32, Shape{}}));
  CHECK(to_text(parse_graph(to_text(n.graph()))) == to_text(n.graph()));
  CHECK(std::isnan(parse_graph(to_text(n.graph())).node(0).attrs.f("value")));
}

TEST_CASE("parse_graph accepts any %names, comments and blank lines, and renumbers densely") {
  const Graph g = parse_graph(R"(
    # a comment line
    graph {
      %weights = param {name="W"} : f32[3,2]   # trailing comment
      %in.put = input {name="y"} : f32[N,2]

      %h_1 = matmul(%in.put, %weights) {ta=0, tb=1} : f32[N,3]
      output out = %h_1
    }
  )");
  CHECK(to_text(g) == "graph {\n"
                      "  %0 = param {name=\"W\"} : f32[3,2]\n"
                      "  %1 = input {name=\"y\"} : f32[N,2]\n"
                      "  %2 = matmul(%1, %0) {ta=0, tb=1} : f32[N,3]\n"
                      "  output out = %2\n"
                      "}\n");
}

TEST_CASE("parse: an integer constant value reads as a float") {
  // Regression: `value=1` used to give an int attribute that every pass then rejected with an
  // internal error, and that differed from the `value=1.0` the printer writes.
  const Graph g = parse_graph(R"(
    %x = input {name="x"} : f64[N,3]
    %one = constant {value=1} : f64[N,3]
    %m = mul(%x, %one) : f64[N,3]
    output m = %m
  )");
  CHECK(g.node(1).attrs.f("value") == 1.0);
  CHECK(g == parse_graph(to_text(g)));
  const Graph o = optimize(g);
  CHECK(o.output("m") == *o.find_leaf(Op::Input, "x"));
}

TEST_CASE("to_dot shows every node, edge and output") {
  const Graph g = optimize(demo_gradients(DType::F32));
  const std::string dot = to_dot(g, "demo \"quoted\"");
  CHECK(dot.rfind("digraph \"demo \\\"quoted\\\"\" {", 0) == 0);
  CHECK(dot.back() == '\n');
  for (NodeId i = 0; i < g.size(); ++i) {
    const Node& n = g.node(i);
    INFO(node_text(g, i));
    CHECK_THAT(dot, Contains(str("  n", i, " [label=\"%", i, " ", op_name(n.op))));
    CHECK_THAT(dot, Contains(n.type.str() + "\""));
    for (NodeId in : n.inputs)
      CHECK_THAT(dot, Contains(str("  n", in, " -> n", i, ";\n")));
  }
  for (const Output& o : g.outputs())
    CHECK_THAT(dot, Contains(str("  n", o.id, " -> \"out_", o.name, "\";\n")));
  // Attributes are escaped inside the label: a name's quotes must not end the label early.
  CHECK_THAT(dot, Contains("{name=\\\"W\\\"}"));
}

TEST_CASE("parse errors name the line and the problem") {
  const std::string x = "%x = input {name=\"x\"} : f32[N,3]\n";
  SECTION("unknown op") {
    CHECK_THAT(parse_error(x + "%y = frobnicate(%x) : f32[N,3]"),
               Contains("[parse] line 2: unknown op 'frobnicate'"));
  }
  SECTION("undefined %id") {
    CHECK_THAT(parse_error(x + "%y = neg(%q) : f32[N,3]"),
               Contains("[parse] line 2: %q is used before it is defined"));
    CHECK_THAT(parse_error(x + "output y = %nope"),
               Contains("[parse] line 2: %nope is used before it is defined"));
  }
  SECTION("duplicate %id") {
    CHECK_THAT(parse_error(x + "%x = neg(%x) : f32[N,3]"),
               Contains("[parse] line 2: %x is defined twice"));
  }
  SECTION("type mismatch with the inferred type") {
    const std::string msg = parse_error(x + "\n%y = tanh(%x) : f32[N,4]");
    CHECK_THAT(
        msg,
        Contains("[parse] line 3: [tanh] declared type f32[N,4] but the operands give f32[N,3]"));
    CHECK_THAT(parse_error(x + "%y = tanh(%x) : f64[N,3]"),
               Contains("[parse] line 2: [tanh] declared type"));
  }
  SECTION("operands an op does not accept") {
    CHECK_THAT(
        parse_error(
            x + "%w = param {name=\"w\"} : f32[4,5]\n%y = matmul(%x, %w) {ta=0, tb=0} : f32[N,5]"),
        Contains("[parse] line 3: [matmul] inner dimensions differ"));
  }
  SECTION("bad number") {
    CHECK_THAT(parse_error("%c = constant {value=1.2.3} : f32[]"),
               Contains("[parse] line 1: bad number '1.2.3'"));
    CHECK_THAT(parse_error("%c = constant {value=12abc} : f32[]"),
               Contains("[parse] line 1: bad value '12abc'"));
    CHECK_THAT(parse_error("%c = constant {value=1} : f32[N,x]"),
               Contains("[parse] line 1: expected an integer"));
  }
  SECTION("unknown dtype") {
    CHECK_THAT(parse_error("%c = constant {value=1.0} : f16[3]"),
               Contains("[parse] line 1: unknown dtype 'f16'"));
  }
  SECTION("malformed lines") {
    CHECK_THAT(parse_error("%c = constant {name=\"abc} : f32[]"),
               Contains("[parse] line 1: unterminated string"));
    CHECK_THAT(parse_error("%c = constant {value=1.0} : f32[] junk"),
               Contains("[parse] line 1: unexpected text after the type"));
    CHECK_THAT(parse_error("node %c"),
               Contains("[parse] line 1: expected a node, 'output' or 'graph', got 'node'"));
    CHECK_THAT(parse_error(x + "%y = neg(%x : f32[N,3]"), Contains("[parse] line 2: expected ')'"));
    CHECK_THAT(parse_error("%c constant {value=1.0} : f32[]"),
               Contains("[parse] line 1: expected '='"));
    CHECK_THAT(parse_error("%c = constant {value=1.0} : [3]"),
               Contains("[parse] line 1: expected a name"));
  }
  SECTION("the message quotes the offending line") {
    CHECK_THAT(parse_error("%c = constant {value=1.0} : f16[3]"),
               Contains("in \"%c = constant {value=1.0} : f16[3]\""));
  }
}
