// One test per user-facing error message of ir/ and frontend/: each checks the exception type,
// the op or API in brackets and the words that tell the user what was expected and what was
// received. (The "[parse] line L: ..." messages are tested in tests/ir/print_parse_test.cpp.)

#include <catch2/catch.hpp>

#include "base/error.h"
#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/val.h"

using namespace kiln;
using Catch::Contains;
using ir::Attrs;
using ir::Builder;
using ir::DType;
using ir::kBatch;
using ir::Op;
using ir::Shape;
using ir::Type;
using ir::Val;

namespace {

constexpr int64_t N = kBatch;

Type f32(Shape s) {
  return Type{DType::F32, std::move(s)};
}
Type f64(Shape s) {
  return Type{DType::F64, std::move(s)};
}
Type i32(Shape s) {
  return Type{DType::I32, std::move(s)};
}

/** A builder with a few leaves to apply ops to. */
struct Leaves {
  Builder b;
  Val x{b, b.input("x", f32({N, 3}))};   // f32[N,3]
  Val m{b, b.param("m", f32({3, 4}))};   // f32[3,4]
  Val v{b, b.param("v", f32({4}))};      // f32[4]
  Val labels{b, b.input("l", i32({N}))}; // i32[N]
  Val d{b, b.param("d", f64({3, 4}))};   // f64[3,4]
  Val six{b, b.input("s", f32({N, 6}))}; // f32[N,6]
};

ir::Bindings one_sample() {
  ir::Bindings at;
  at.emplace("y", ir::Tensor(DType::F32, {1, 2}, 0.0));
  return at;
}

} // namespace

// ---- ir/node.cpp -------------------------------------------------------------------------

TEST_CASE("error: [graph] no output named") {
  Leaves l;
  l.b.set_output("y", l.x.id());
  l.b.set_output("loss", l.m.id());
  CHECK_THROWS_AS(l.b.graph().output("z"), Error);
  CHECK_THROWS_WITH(l.b.graph().output("z"),
                    Contains("[graph] no output named 'z'; the outputs are: y, loss"));
  CHECK_THROWS_WITH(Builder().graph().output("z"), Contains("the outputs are: (none)"));
}

TEST_CASE("error: [op] expects k operands") {
  Leaves l;
  CHECK_THROWS_AS(l.b.make(Op::Add, {l.x.id()}), ShapeError);
  CHECK_THROWS_WITH(l.b.make(Op::Add, {l.x.id()}), Contains("[add] expects 2 operands, got 1"));
  CHECK_THROWS_WITH(l.b.make(Op::Concat, {}, Attrs().set("axis", 0)),
                    Contains("[concat] expects at least one operand"));
}

TEST_CASE("error: [leaf] dims must be >= 1") {
  Builder b;
  CHECK_THROWS_AS(b.input("x", f32({N, 0})), ShapeError);
  CHECK_THROWS_WITH(b.input("x", f32({N, 0})), Contains("[input] dims must be >= 1, got [N,0]"));
  CHECK_THROWS_WITH(b.param("w", f32({-3})), Contains("[param] dims must be >= 1, got [-3]"));
  CHECK_THROWS_WITH(b.constant(1.0, f32({2, 0})),
                    Contains("[constant] dims must be >= 1, got [2,0]"));
}

TEST_CASE("error: a param with the batch dim") {
  Builder b;
  CHECK_THROWS_AS(b.param("w", f32({N, 3})), ShapeError);
  CHECK_THROWS_WITH(b.param("w", f32({N, 3})),
                    Contains("[param] 'w' is f32[N,3]; a param cannot have the batch dim N"));
}

TEST_CASE("error: [op] declared type differs from the inferred one") {
  Leaves l;
  CHECK_THROWS_AS(l.b.make(Op::Neg, {l.x.id()}, {}, f32({N, 4})), ShapeError);
  CHECK_THROWS_WITH(l.b.make(Op::Neg, {l.x.id()}, {}, f32({N, 4})),
                    Contains("[neg] declared type f32[N,4] but the operands give f32[N,3]"));
}

TEST_CASE("error: a leaf declared twice with different types") {
  Builder b;
  b.input("y", f32({N, 2}));
  CHECK_NOTHROW(b.input("y", f32({N, 2}))); // the same declaration again is the same leaf
  CHECK_THROWS_AS(b.input("y", f32({N, 3})), ShapeError);
  CHECK_THROWS_WITH(b.input("y", f32({N, 3})),
                    Contains("[input] 'y' is declared twice: as f32[N,2] and as f32[N,3]"));
  b.param("W", f32({3, 2}));
  CHECK_THROWS_WITH(b.param("W", f64({3, 2})),
                    Contains("[param] 'W' is declared twice: as f32[3,2] and as f64[3,2]"));
}

// ---- ir/ops/rules.cpp ---------------------------------------------------------------------

TEST_CASE("error: [op] operands must have one type") {
  Leaves l;
  CHECK_THROWS_AS(l.m + l.d, ShapeError);
  CHECK_THROWS_WITH(l.m + l.d,
                    Contains("[add] operands must have one type, got f32[3,4] and f64[3,4]"));
}

TEST_CASE("error: [op] operand must be a float") {
  Leaves l;
  CHECK_THROWS_AS(tanh(l.labels), ShapeError);
  CHECK_THROWS_WITH(tanh(l.labels), Contains("[tanh] operand 0 must be f32 or f64, got i32[N]"));
  CHECK_THROWS_WITH(mean(l.labels, {0}),
                    Contains("[mean] operand 0 must be f32 or f64, got i32[N]"));
}

TEST_CASE("error: [op] operand must be an integer") {
  Leaves l;
  CHECK_THROWS_AS(one_hot(l.x, 3, DType::F32), ShapeError);
  CHECK_THROWS_WITH(one_hot(l.x, 3, DType::F32),
                    Contains("[one_hot] operand 0 must be i32 or i64, got f32[N,3]"));
}

TEST_CASE("error: gather index dtype") {
  Leaves l;
  const Val fidx = sum(l.x, {1});
  CHECK_THROWS_AS(gather(l.x, fidx), ShapeError);
  CHECK_THROWS_WITH(gather(l.x, fidx),
                    Contains("[gather] operand 1 must be i32 or i64, got f32[N]"));
}

TEST_CASE("error: [op] axis out of range") {
  Leaves l;
  CHECK_THROWS_AS(sum(l.x, {2}), ShapeError);
  CHECK_THROWS_WITH(sum(l.x, {2}), Contains("[sum] axis 2 is out of range for f32[N,3]"));
  CHECK_THROWS_WITH(max(l.m, {-3}), Contains("[max] axis -1 is out of range for f32[3,4]"));
}

TEST_CASE("error: [op] axes repeat") {
  Leaves l;
  CHECK_THROWS_AS(sum(l.x, {1, 1}), ShapeError);
  CHECK_THROWS_WITH(sum(l.x, {1, 1}), Contains("[sum] axes repeat: [1,1]"));
}

TEST_CASE("error: [op] unknown dtype") {
  Leaves l;
  CHECK_THROWS_AS(l.b.make(Op::Cast, {l.x.id()}, Attrs().set("dtype", "f16")), ShapeError);
  CHECK_THROWS_WITH(l.b.make(Op::Cast, {l.x.id()}, Attrs().set("dtype", "f16")),
                    Contains("[cast] unknown dtype 'f16'"));
}

// ---- ir/ops/index.cpp ---------------------------------------------------------------------

TEST_CASE("error: one_hot depth") {
  Leaves l;
  CHECK_THROWS_AS(one_hot(l.labels, 0, DType::F32), ShapeError);
  CHECK_THROWS_WITH(one_hot(l.labels, 0, DType::F32),
                    Contains("[one_hot] depth must be >= 1, got 0"));
}

TEST_CASE("error: one_hot result dtype") {
  Leaves l;
  CHECK_THROWS_AS(one_hot(l.labels, 3, DType::I32), ShapeError);
  CHECK_THROWS_WITH(one_hot(l.labels, 3, DType::I32),
                    Contains("[one_hot] the result dtype must be f32 or f64, got i32"));
}

TEST_CASE("error: gather indices shape") {
  Leaves l;
  const Val idx(l.b, l.b.input("idx", i32({N, 3})));
  CHECK_THROWS_AS(gather(l.x, idx), ShapeError);
  CHECK_THROWS_WITH(
      gather(l.x, idx),
      Contains("[gather] indices i32[N,3] must have the shape of f32[N,3] without its last axis"));
}

TEST_CASE("error: gather index out of range at run time") {
  Leaves l;
  l.b.set_output("g", gather(l.x, l.labels).id());
  ir::Bindings at;
  at.emplace("x", ir::Tensor(DType::F32, {2, 3}, 1.0));
  at.emplace("l", ir::Tensor(DType::I32, {2}, {0.0, -1.0}));
  CHECK_THROWS_AS(ir::interpret(l.b.graph(), at), Error);
  CHECK_THROWS_WITH(ir::interpret(l.b.graph(), at),
                    Contains("[gather] index -1 at position 1 is outside [0, 3)"));
}

// ---- ir/ops/binary.cpp, matmul.cpp, movement.cpp ------------------------------------------

TEST_CASE("error: select condition shape") {
  Leaves l;
  const Val cond = sum(l.x, {1});
  CHECK_THROWS_AS(l.b.make(Op::Select, {cond.id(), l.x.id(), l.x.id()}), ShapeError);
  CHECK_THROWS_WITH(
      l.b.make(Op::Select, {cond.id(), l.x.id(), l.x.id()}),
      Contains("[select] the condition f32[N] and the values f32[N,3] must have one shape"));
}

TEST_CASE("error: matmul operands must be matrices") {
  Leaves l;
  CHECK_THROWS_AS(matmul(l.v, l.m), ShapeError);
  CHECK_THROWS_WITH(matmul(l.v, l.m),
                    Contains("[matmul] operands must be matrices, got f32[4] and f32[3,4]"));
}

TEST_CASE("error: matmul operands must have one dtype") {
  Leaves l;
  CHECK_THROWS_AS(matmul(l.m, l.d, false, true), ShapeError);
  CHECK_THROWS_WITH(matmul(l.m, l.d, false, true),
                    Contains("[matmul] operands must have one dtype, got f32[3,4] and f64[3,4]"));
}

TEST_CASE("error: matmul inner dims (IR)") {
  Leaves l;
  CHECK_THROWS_AS(matmul(l.x, l.six), ShapeError);
  CHECK_THROWS_WITH(
      matmul(l.x, l.m, false, true),
      Contains(
          "[matmul] inner dimensions differ: a is f32[N,3], b is f32[3,4] (transposed): 3 vs 4"));
  CHECK_THROWS_WITH(
      matmul(l.m, l.x, true, false),
      Contains(
          "[matmul] inner dimensions differ: a is f32[3,4] (transposed), b is f32[N,3]: 3 vs N"));
}

TEST_CASE("error: broadcast target shape") {
  Leaves l;
  CHECK_THROWS_AS(broadcast_to(l.x, Shape{N, 4}), ShapeError);
  CHECK_THROWS_WITH(broadcast_to(l.x, Shape{N, 4}),
                    Contains("[broadcast] cannot broadcast f32[N,3] to [N,4]") &&
                        Contains("must be equal or 1"));
}

TEST_CASE("error: broadcasting mismatch between operands") {
  Leaves l;
  CHECK_THROWS_AS(l.x * l.v, ShapeError);
  CHECK_THROWS_WITH(l.x * l.v,
                    Contains("[mul] operand shapes do not broadcast: f32[N,3] and f32[4]") &&
                        Contains("equal, or one of them 1"));
}

TEST_CASE("error: reshape dims must be >= 1") {
  Leaves l;
  CHECK_THROWS_AS(reshape(l.six, Shape{N, 0}), ShapeError);
  CHECK_THROWS_WITH(reshape(l.six, Shape{N, 0}),
                    Contains("[reshape] dims must be >= 1, got [N,0]"));
}

TEST_CASE("error: reshape must keep the element count and the batch dim") {
  Leaves l;
  CHECK_THROWS_AS(reshape(l.six, Shape{N, 4}), ShapeError);
  CHECK_THROWS_WITH(reshape(l.six, Shape{N, 4}),
                    Contains("[reshape] cannot reshape f32[N,6] to [N,4]") &&
                        Contains("the element count and the batch dim must be kept"));
  CHECK_THROWS_WITH(reshape(l.six, Shape{2, 3}),
                    Contains("[reshape] cannot reshape f32[N,6] to [2,3]"));
}

TEST_CASE("error: transpose permutation") {
  Leaves l;
  CHECK_THROWS_AS(transpose(l.m, {0, 0}), ShapeError);
  CHECK_THROWS_WITH(transpose(l.m, {0, 0}),
                    Contains("[transpose] [0,0] is not a permutation of the axes of f32[3,4]"));
}

TEST_CASE("error: concat axis out of range") {
  Leaves l;
  const Val parts[] = {l.x, l.x};
  CHECK_THROWS_AS(concat(parts, 2), ShapeError);
  CHECK_THROWS_WITH(concat(parts, 2), Contains("[concat] axis 2 is out of range for f32[N,3]"));
}

TEST_CASE("error: concat along N") {
  Leaves l;
  const Val parts[] = {l.x, l.x};
  CHECK_THROWS_AS(concat(parts, 0), ShapeError);
  CHECK_THROWS_WITH(concat(parts, 0),
                    Contains("[concat] cannot concatenate along the batch dim of f32[N,3]"));
}

TEST_CASE("error: concat operands that differ off the axis") {
  Leaves l;
  const Val parts[] = {l.x, l.m};
  CHECK_THROWS_AS(concat(parts, 1), ShapeError);
  CHECK_THROWS_WITH(
      concat(parts, 1),
      Contains("[concat] operands must match except along axis 1: got f32[N,3] and f32[3,4]"));
}

TEST_CASE("error: slice axis out of range") {
  Leaves l;
  CHECK_THROWS_AS(slice(l.m, 2, 0, 1), ShapeError);
  CHECK_THROWS_WITH(slice(l.m, 2, 0, 1), Contains("[slice] axis 2 is out of range for f32[3,4]"));
}

TEST_CASE("error: slice of the batch dim") {
  Leaves l;
  CHECK_THROWS_AS(slice(l.x, 0, 0, 1), ShapeError);
  CHECK_THROWS_WITH(slice(l.x, 0, 0, 1),
                    Contains("[slice] cannot slice the batch dim of f32[N,3]"));
}

TEST_CASE("error: slice range out of range") {
  Leaves l;
  CHECK_THROWS_AS(slice(l.m, 1, 2, 7), ShapeError);
  CHECK_THROWS_WITH(
      slice(l.m, 1, 2, 7),
      Contains("[slice] range [2, 7) is empty or outside [0, 4) on axis 1 of f32[3,4]"));
  CHECK_THROWS_WITH(slice(l.m, 1, 2, 2), Contains("[slice] range [2, 2) is empty"));
}

// ---- ir/tensor.cpp, ir/interpret.cpp, ir/autodiff.cpp -------------------------------------

TEST_CASE("error: tensor value count") {
  CHECK_THROWS_AS(ir::Tensor(DType::F32, {2, 3}, std::vector<double>(5, 0.0)), ShapeError);
  CHECK_THROWS_WITH(ir::Tensor(DType::F32, {2, 3}, std::vector<double>(5, 0.0)),
                    Contains("[tensor] [2,3] needs 6 values, got 5"));
}

TEST_CASE("error: interpret without a value for a leaf") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  const Lowered l = lower({{"F", W * y}});
  CHECK_THROWS_AS(ir::interpret(l.graph, one_sample()), Error);
  CHECK_THROWS_WITH(ir::interpret(l.graph, one_sample()),
                    Contains("[interpret] no value bound for param 'W' (f32[3,2])"));
}

TEST_CASE("error: interpret with wrong static dims") {
  Input y{{2}, "y"};
  const Lowered l = lower({{"F", kiln::tanh(y)}});
  ir::Bindings at;
  at.emplace("y", ir::Tensor(DType::F32, {4, 3}, 0.0));
  CHECK_THROWS_WITH(ir::interpret(l.graph, at),
                    Contains("[interpret] input 'y' expects f32[N,2], got a value of shape [4,3]"));
}

TEST_CASE("error: interpret with batch sizes that disagree") {
  Input y{{2}, "y"}, z{{2}, "z"};
  const Lowered l = lower({{"F", y + z}});
  ir::Bindings at = one_sample();
  at.emplace("z", ir::Tensor(DType::F32, {3, 2}, 0.0));
  CHECK_THROWS_WITH(ir::interpret(l.graph, at),
                    Contains("[interpret] the batch size differs between leaves"));
}

TEST_CASE("error: grad of a non-scalar") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  const Lowered l = lower({{"F", W * y}});
  CHECK_THROWS_AS(ir::grad(l.graph, "F", {"W"}), ShapeError);
  CHECK_THROWS_WITH(ir::grad(l.graph, "F", {"W"}),
                    Contains("[grad] the output must be a float scalar, got f32[N,3]") &&
                        Contains("reduce it first (sum or mean)"));
}

TEST_CASE("error: grad with respect to an unknown leaf") {
  Input y{{2}, "y"};
  const Lowered l = lower({{"loss", kiln::sum(y)}});
  CHECK_THROWS_AS(ir::grad(l.graph, "loss", {"K"}), Error);
  CHECK_THROWS_WITH(ir::grad(l.graph, "loss", {"K"}),
                    Contains("[grad] the graph has no input or param named 'K'"));
}

// ---- frontend/ --------------------------------------------------------------------------

TEST_CASE("error: empty kiln::Expr") {
  CHECK_THROWS_AS(lower({{"e", Expr()}}), Error);
  CHECK_THROWS_WITH(
      lower({{"e", Expr()}}),
      Contains("[lower] an empty kiln::Expr was used; assign it an expression first"));
}

TEST_CASE("error: lowering to an integer dtype") {
  Input y{{2}, "y"};
  CHECK_THROWS_AS(lower({{"y", kiln::tanh(y)}}, DType::I32), Error);
  CHECK_THROWS_WITH(lower({{"y", kiln::tanh(y)}}, DType::I32),
                    Contains("[lower] the network dtype must be f32 or f64, got i32"));
}

TEST_CASE("error: two different DSL leaves with one name") {
  Input a{{2}, "y"}, b{{2}, "y"};
  CHECK_THROWS_AS(lower({{"s", a + b}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"s", a + b}}),
                    Contains("[lower] two different leaves are named 'y'") &&
                        Contains("give each Input, Labels and Param its own name"));
  Param p{{2}, "x"};
  Input x{{2}, "x"};
  CHECK_THROWS_WITH(lower({{"s", x + p}}), Contains("[lower] two different leaves are named 'x'"));
}

TEST_CASE("error: bad dims (0) in Param and Input") {
  CHECK_THROWS_AS((Param{{3, 0}, "W"}), ShapeError);
  CHECK_THROWS_WITH((Param{{3, 0}, "W"}),
                    Contains("[Param] 'W' has a dim 0; every dim must be >= 1"));
  CHECK_THROWS_WITH((Input{{0}, "y"}), Contains("[Input] 'y' has a dim 0; every dim must be >= 1"));
  CHECK_THROWS_WITH((Target{{2, -2}, "c"}), Contains("[Input] 'c' has a dim -2"));
}

TEST_CASE("error: a feature dim of -1 is not a second batch dim") {
  // Regression: -1 is kBatch, so Input{{-1}} used to declare [N,N] and Param{{-1, 3}} a
  // parameter with a batch dim.
  CHECK_THROWS_WITH((Input{{2, -1}, "y"}),
                    Contains("[Input] 'y' has a dim -1; every dim must be >= 1"));
  CHECK_THROWS_WITH((Param{{-1, 3}, "W"}),
                    Contains("[Param] 'W' has a dim -1; every dim must be >= 1"));
  CHECK_NOTHROW(Input{{2}, "y"});
}

TEST_CASE("error: Labels need at least one class") {
  // Regression: Labels{0} used to be accepted and then turned off the class-count check.
  CHECK_THROWS_AS((Labels{0, "c"}), ShapeError);
  CHECK_THROWS_WITH((Labels{0, "c"}), Contains("[Labels] 'c' needs at least one class, got 0"));
}

TEST_CASE("error: bad sizes (0) in layers") {
  // Regression: the Param inside the layer used to throw first, naming an internal parameter.
  CHECK_THROWS_AS(nn::Linear(0, 3), ShapeError);
  CHECK_THROWS_WITH(nn::Linear(0, 3), Contains("[Linear] sizes must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::Linear(2, 0), Contains("[Linear] sizes must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::Residual(0), Contains("[Residual] sizes must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::Dense(4, 0), Contains("[Dense] sizes must be >= 1, got 0"));
}

TEST_CASE("error: DSL matmul operand ranks") {
  Param v{{3}, "v"}, A{{3, 3}, "A"};
  CHECK_THROWS_AS(lower({{"p", v * A}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"p", v * A}}),
                    Contains("[matmul] the left operand must be a matrix and the right one a "
                             "matrix or a vector, got f32[3] * f32[3,3]"));
}

TEST_CASE("error: DSL matmul of two batches") {
  Input y{{2}, "y"}, z{{2}, "z"};
  CHECK_THROWS_AS(lower({{"p", y * z}}), ShapeError);
  CHECK_THROWS_WITH(
      lower({{"p", y * z}}),
      Contains("[matmul] both operands are batches (f32[N,2] * f32[N,2]); use kiln::mul"));
}

TEST_CASE("error: DSL matmul inner dims, matrix times a batch") {
  Param K{{14, 3}, "K"};
  Input y{{2}, "y"};
  CHECK_THROWS_AS(lower({{"p", K * y}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"p", K * y}}), Contains("[matmul] the matrix f32[14,3] has 3 columns "
                                                    "but each sample of f32[N,2] has 2 features"));
}

TEST_CASE("error: DSL matmul inner dims, plain product") {
  Param A{{3, 4}, "A"}, B{{5, 2}, "B"}, v{{5}, "v"};
  CHECK_THROWS_AS(lower({{"p", A * B}}), ShapeError);
  CHECK_THROWS_WITH(
      lower({{"p", A * B}}),
      Contains("[matmul] inner dimensions differ: f32[3,4] has 4 columns, f32[5,2] has 5 rows"));
  CHECK_THROWS_WITH(
      lower({{"p", A * v}}),
      Contains("[matmul] inner dimensions differ: f32[3,4] has 4 columns, f32[5] has 5 rows"));
  CHECK_THROWS_WITH(
      lower({{"p", kiln::matmul(A, B)}}),
      Contains("[matmul] inner dimensions differ: f32[3,4] has 4 columns, f32[5,2] has 5 rows"));
}

TEST_CASE("error: DSL broadcasting mismatch") {
  Input y{{2}, "y"};
  Param b{{3}, "b"};
  CHECK_THROWS_AS(lower({{"s", y + b}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"s", y + b}}),
                    Contains("[add] operand shapes do not broadcast: f32[N,2] and f32[3]"));
}

TEST_CASE("error: DSL reduction axis out of range") {
  Input y{{2}, "y"};
  CHECK_THROWS_AS(lower({{"s", kiln::sum(y, {2})}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"s", kiln::sum(y, {2})}}),
                    Contains("[sum] axis 2 is out of range for f32[N,2]"));
  CHECK_THROWS_WITH(lower({{"s", kiln::max(y, {-3})}}),
                    Contains("[max] axis -3 is out of range for f32[N,2]"));
}

TEST_CASE("error: DSL concat axis out of range") {
  Input y{{2}, "y"};
  CHECK_THROWS_AS(lower({{"s", kiln::concat(5, y, y)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"s", kiln::concat(5, y, y)}}),
                    Contains("[concat] axis 5 is out of range for f32[N,2]"));
  CHECK_THROWS_WITH(lower({{"s", kiln::concat(0, y, y)}}),
                    Contains("[concat] cannot concatenate along the batch dim of f32[N,2]"));
}

TEST_CASE("error: DSL transpose of a non-matrix") {
  Input y{{2, 3}, "y"};
  CHECK_THROWS_AS(lower({{"t", kiln::transpose(y)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"t", kiln::transpose(y)}}),
                    Contains("[transpose] expects a matrix, got f32[N,2,3]"));
}

TEST_CASE("error: loss prediction and target shapes differ") {
  Input y{{2}, "y"};
  Param W{{1, 2}, "W"};
  Target c{{2}, "c"};
  CHECK_THROWS_AS(lower({{"l", least_squares(W * y, c)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"l", least_squares(W * y, c)}}),
                    Contains("[least_squares] the prediction f32[N,1] and the target f32[N,2] must "
                             "have the same shape and a float dtype"));
  CHECK_THROWS_WITH(lower({{"l", mse(W * y, c)}}),
                    Contains("[mse] the prediction f32[N,1] and the target f32[N,2]"));
  Param W3{{3, 2}, "W3"};
  CHECK_THROWS_WITH(lower({{"l", cross_entropy(W3 * y, c)}}),
                    Contains("[cross_entropy] the prediction f32[N,3] and the target f32[N,2]"));
}

TEST_CASE("error: loss of predictions that are not a batch") {
  Param p{{3}, "p"}, q{{3}, "q"};
  CHECK_THROWS_AS(lower({{"l", least_squares(p, q)}}), ShapeError);
  CHECK_THROWS_WITH(
      lower({{"l", least_squares(p, q)}}),
      Contains("[least_squares] expects a batch of predictions [N, ...], got f32[3]"));
  Labels c{3, "c"};
  CHECK_THROWS_WITH(
      lower({{"l", cross_entropy(p, c)}}),
      Contains("[cross_entropy] expects a batch of predictions [N, ...], got f32[3]"));
}

TEST_CASE("error: cross_entropy of logits that are not [N, classes]") {
  Input z{{2, 3}, "z"};
  Labels c{3, "c"};
  CHECK_THROWS_AS(lower({{"l", cross_entropy(z, c)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"l", cross_entropy(z, c)}}),
                    Contains("[cross_entropy] expects logits [N, classes], got f32[N,2,3]"));
  CHECK_THROWS_WITH(lower({{"l", accuracy(z, c)}}),
                    Contains("[accuracy] expects logits [N, classes], got f32[N,2,3]"));
}

TEST_CASE("error: cross_entropy class count at lowering time") {
  Input y{{2}, "y"};
  Param W{{4, 2}, "W"};
  Labels c{3, "c"};
  CHECK_THROWS_AS(lower({{"l", cross_entropy(W * y, c)}}), ShapeError);
  CHECK_THROWS_WITH(
      lower({{"l", cross_entropy(W * y, c)}}),
      Contains("[cross_entropy] the network has 4 outputs but the labels have 3 classes"));
  CHECK_THROWS_WITH(lower({{"l", accuracy(W * y, c)}}),
                    Contains("[accuracy] the network has 4 outputs but the labels have 3 classes"));
}

TEST_CASE("error: cross_entropy labels that are not [N]") {
  // The DSL's Labels are always [N]; the IR-level entry point still checks its operand.
  Builder b;
  const Val f(b, b.input("f", f32({N, 3})));
  const Val labels(b, b.input("c", i32({N, 2})));
  CHECK_THROWS_AS(detail::lower_cross_entropy(f, labels, 3), ShapeError);
  CHECK_THROWS_WITH(detail::lower_cross_entropy(f, labels, 3),
                    Contains("[cross_entropy] labels must be [N], got i32[N,2]"));
}

TEST_CASE("error: accuracy needs integer labels") {
  Input y{{2}, "y"};
  Param W{{3, 2}, "W"};
  Target c{{3}, "c"};
  CHECK_THROWS_AS(lower({{"a", accuracy(W * y, c)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"a", accuracy(W * y, c)}}),
                    Contains("[accuracy] labels must be integer [N], got f32[N,3]"));
}

TEST_CASE("error: l2 of no parameters") {
  CHECK_THROWS_AS(lower({{"r", kiln::l2(std::vector<Expr>{}, 0.1)}}), Error);
  CHECK_THROWS_WITH(lower({{"r", nn::l2(std::vector<Param<>>{}, 0.1)}}),
                    Contains("[l2] needs at least one parameter"));
}
