// One test per user-facing error message of the convolution, pooling and dropout ops
// (ir/window.cpp, ir/ops/conv.cpp, pool.cpp, random.cpp) and of their DSL functions and layers
// (frontend/image.*, frontend/ops.cpp, frontend/nn_image.cpp): the exception type, the op in
// brackets, what was expected and what was received.

#include <catch2/catch.hpp>

#include "base/error.h"
#include "frontend/kiln.h"
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
using Ints = std::vector<int64_t>;

Type f32(Shape s) {
  return Type{DType::F32, std::move(s)};
}

/** Images and weights to apply the ops to. */
struct Leaves {
  Builder b;
  Val x{b, b.input("x", f32({N, 4, 6, 5}))};   // images
  Val w{b, b.param("w", f32({6, 2, 3, 3}))};   // 6 filters of 2 channels
  Val w4{b, b.param("w4", f32({6, 4, 3, 3}))}; // 6 filters of 4 channels
  Val rows{b, b.input("rows", f32({N, 12}))};
  Val d{b, b.input("d", Type{DType::F64, Shape{N, 4, 6, 5}})};
  Val steps{b, b.input("steps", Type{DType::I32, Shape{N, 4, 6, 5}})};

  /** op(in...){a} through Builder::make (the gradient ops have no helper of their own). */
  ir::NodeId make(Op op, const std::vector<Val>& in, Attrs a) {
    std::vector<ir::NodeId> ids;
    for (const Val& v : in)
      ids.push_back(v.id());
    return b.make(op, ids, std::move(a));
  }
};

Attrs pool(Ints kernel, Ints stride, Ints padding = {0, 0}) {
  return Attrs().set("kernel", kernel).set("stride", stride).set("padding", padding);
}

} // namespace

// ---- ir/window.cpp -------------------------------------------------------------------------

TEST_CASE("error: [window] stride, padding and dilation must be two values in range") {
  Leaves l;
  CHECK_THROWS_AS(conv2d(l.x, l.w4, Attrs().set("stride", Ints{1})), ShapeError);
  CHECK_THROWS_WITH(conv2d(l.x, l.w4, Attrs().set("stride", Ints{1})),
                    Contains("[conv2d] stride must be two values (height, width) >= 1, got [1]"));
  CHECK_THROWS_WITH(
      conv2d(l.x, l.w4, Attrs().set("padding", Ints{0, -1})),
      Contains("[conv2d] padding must be two values (height, width) >= 0, got [0,-1]"));
  CHECK_THROWS_WITH(
      conv2d(l.x, l.w4, Attrs().set("dilation", Ints{0, 1})),
      Contains("[conv2d] dilation must be two values (height, width) >= 1, got [0,1]"));
}

TEST_CASE("error: [window] the kernel must be two sizes") {
  Leaves l;
  CHECK_THROWS_AS(max_pool2d(l.x, pool({2}, {2, 2})), ShapeError);
  CHECK_THROWS_WITH(
      max_pool2d(l.x, pool({2}, {2, 2})),
      Contains("[max_pool2d] the kernel must be two sizes (height, width) >= 1, got [2]"));
}

// ---- ir/ops/conv.cpp -----------------------------------------------------------------------

TEST_CASE("error: conv2d operand shapes") {
  Leaves l;
  CHECK_THROWS_AS(conv2d(l.rows, l.w4, {}), ShapeError);
  CHECK_THROWS_WITH(conv2d(l.rows, l.w4, {}),
                    Contains("[conv2d] the input must be [N, C, H, W] (the batch first), got "
                             "f32[N,12]"));
  CHECK_THROWS_WITH(conv2d(l.x, l.rows, {}),
                    Contains("[conv2d] the weight must be [O, C/groups, KH, KW], got f32[N,12]"));
  CHECK_THROWS_WITH(conv2d(l.d, l.w4, {}),
                    Contains("[conv2d] operands must have one dtype, got f64[N,4,6,5] and "
                             "f32[6,4,3,3]"));
}

TEST_CASE("error: conv2d channels and groups") {
  Leaves l;
  CHECK_THROWS_AS(conv2d(l.x, l.w, {}), ShapeError);
  CHECK_THROWS_WITH(conv2d(l.x, l.w, {}),
                    Contains("[conv2d] the weight [6,2,3,3] takes 2 input channels per group, but "
                             "the input [N,4,6,5] has 4 channels in 1 group"));
  CHECK_THROWS_WITH(conv2d(l.x, l.w, Attrs().set("groups", 0)),
                    Contains("[conv2d] groups must be >= 1, got 0"));
  CHECK_THROWS_WITH(conv2d(l.x, l.w, Attrs().set("groups", 4)),
                    Contains("[conv2d] groups (4) must divide the 4 input channels and the 6 "
                             "output channels"));
  CHECK_NOTHROW(conv2d(l.x, l.w, Attrs().set("groups", 2)));
}

TEST_CASE("error: conv2d kernel larger than the image") {
  Leaves l;
  const Val big(l.b, l.b.param("big", f32({6, 4, 7, 3})));
  CHECK_THROWS_AS(conv2d(l.x, big, {}), ShapeError);
  CHECK_THROWS_WITH(conv2d(l.x, big, {}),
                    Contains("[conv2d] the kernel 7x3 (dilation 1x1) does not fit the image 6x5 "
                             "padded by 0x0"));
  CHECK_NOTHROW(conv2d(l.x, big, Attrs().set("padding", Ints{1, 0})));
}

TEST_CASE("error: conv2d_input_grad shapes") {
  Leaves l;
  const Val g(l.b, l.b.input("g", f32({N, 6, 4, 3})));
  CHECK_NOTHROW(l.make(Op::Conv2dInputGrad, {g, l.w4}, Attrs().set("input", Ints{6, 5})));
  CHECK_THROWS_WITH(l.make(Op::Conv2dInputGrad, {g, l.w4}, Attrs().set("input", Ints{6})),
                    Contains("[conv2d_input_grad] needs a weight [O, C/groups, KH, KW] and the "
                             "input's [H, W], got f32[6,4,3,3] and [6]"));
  CHECK_THROWS_AS(l.make(Op::Conv2dInputGrad, {g, l.w4}, Attrs().set("input", Ints{7, 5})),
                  ShapeError);
  CHECK_THROWS_WITH(l.make(Op::Conv2dInputGrad, {g, l.w4}, Attrs().set("input", Ints{7, 5})),
                    Contains("[conv2d_input_grad] the output gradient f32[N,6,4,3] does not match "
                             "the [N,6,5,3] that the weight f32[6,4,3,3] makes from an input of "
                             "7x5"));
}

TEST_CASE("error: conv2d_weight_grad shapes") {
  Leaves l;
  const Val g(l.b, l.b.input("g", f32({N, 6, 4, 3})));
  CHECK_NOTHROW(l.make(Op::Conv2dWeightGrad, {l.x, g}, Attrs().set("kernel", Ints{3, 3})));
  CHECK_THROWS_WITH(l.make(Op::Conv2dWeightGrad, {l.x, g}, Attrs().set("kernel", Ints{3})),
                    Contains("[conv2d_weight_grad] the kernel must be two sizes, got [3]"));
  CHECK_THROWS_WITH(
      l.make(Op::Conv2dWeightGrad, {l.x, g}, Attrs().set("kernel", Ints{3, 3}).set("groups", 3)),
      Contains("[conv2d_weight_grad] groups (3) must divide the 4 input channels"));
  CHECK_THROWS_AS(l.make(Op::Conv2dWeightGrad, {l.x, g}, Attrs().set("kernel", Ints{2, 3})),
                  ShapeError);
  CHECK_THROWS_WITH(l.make(Op::Conv2dWeightGrad, {l.x, g}, Attrs().set("kernel", Ints{2, 3})),
                    Contains("[conv2d_weight_grad] the output gradient f32[N,6,4,3] does not "
                             "match the [N,6,5,3] that a 2x3 kernel makes from the input "
                             "f32[N,4,6,5]"));
}

// ---- ir/ops/pool.cpp -----------------------------------------------------------------------

TEST_CASE("error: pooling padding at most half the kernel") {
  Leaves l;
  CHECK_THROWS_AS(max_pool2d(l.x, pool({2, 2}, {2, 2}, {2, 0})), ShapeError);
  CHECK_THROWS_WITH(max_pool2d(l.x, pool({2, 2}, {2, 2}, {2, 0})),
                    Contains("[max_pool2d] padding 2x0 must be at most half the kernel 2x2"));
}

TEST_CASE("error: pooling window larger than the image") {
  Leaves l;
  CHECK_THROWS_AS(avg_pool2d(l.x, pool({7, 2}, {1, 1})), ShapeError);
  CHECK_THROWS_WITH(avg_pool2d(l.x, pool({7, 2}, {1, 1})),
                    Contains("[avg_pool2d] the window 7x2 (dilation 1x1) does not fit the image "
                             "6x5 padded by 0x0"));
}

TEST_CASE("error: pooling operands") {
  Leaves l;
  CHECK_THROWS_AS(max_pool2d(l.rows, pool({2, 2}, {2, 2})), ShapeError);
  CHECK_THROWS_WITH(max_pool2d(l.rows, pool({2, 2}, {2, 2})),
                    Contains("[max_pool2d] operand 0 must be a float [N, C, H, W] (the batch "
                             "first), got f32[N,12]"));
  CHECK_THROWS_WITH(l.make(Op::MaxPool2d, {l.x, l.d}, pool({2, 2}, {2, 2})),
                    Contains("[max_pool2d] keys and values must have one type, got "
                             "f32[N,4,6,5] and f64[N,4,6,5]"));
}

TEST_CASE("error: pooling adjoints") {
  Leaves l;
  const Val g(l.b, l.b.input("g", f32({N, 4, 3, 3})));
  CHECK_NOTHROW(l.make(Op::MaxUnpool2d, {l.x, g}, pool({2, 2}, {2, 2}, {0, 1})));
  CHECK_THROWS_AS(l.make(Op::MaxUnpool2d, {l.x, g}, pool({2, 2}, {2, 2})), ShapeError);
  CHECK_THROWS_WITH(l.make(Op::MaxUnpool2d, {l.x, g}, pool({2, 2}, {2, 2})),
                    Contains("[max_unpool2d] the pooled gradient f32[N,4,3,3] must be "
                             "[N,4,3,2], what the window makes of [N,4,6,5]"));
  const Val gd(l.b, l.b.input("gd", Type{DType::F64, Shape{N, 4, 3, 3}}));
  CHECK_THROWS_WITH(l.make(Op::MaxUnpool2d, {l.x, gd}, pool({2, 2}, {2, 2}, {0, 1})),
                    Contains("[max_unpool2d] operands must have one dtype, got f32[N,4,6,5] and "
                             "f64[N,4,3,3]"));
  CHECK_THROWS_WITH(l.make(Op::AvgPool2dGrad, {g}, pool({2, 2}, {2, 2}).set("input", Ints{6})),
                    Contains("[avg_pool2d_grad] input must be the image's [H, W], got [6]"));
  CHECK_THROWS_WITH(
      l.make(Op::AvgPool2dGrad, {g}, pool({2, 2}, {2, 2}).set("input", Ints{6, 5})),
      Contains("[avg_pool2d_grad] the pooled gradient f32[N,4,3,3] must be [N,4,3,2]"));
}

// ---- ir/ops/random.cpp ---------------------------------------------------------------------

TEST_CASE("error: dropout operands and probability") {
  Leaves l;
  CHECK_NOTHROW(l.make(Op::Dropout, {l.x, l.steps}, Attrs().set("p", 0.5).set("seed", int64_t{1})));
  const Val step(l.b, l.b.input("step", Type{DType::I32, Shape{}}));
  CHECK_THROWS_AS(l.make(Op::Dropout, {l.x, step}, Attrs().set("p", 0.5).set("seed", 1)),
                  ShapeError);
  CHECK_THROWS_WITH(l.make(Op::Dropout, {l.x, step}, Attrs().set("p", 0.5).set("seed", 1)),
                    Contains("[dropout] the values f32[N,4,6,5] and the step i32[] must have "
                             "one shape (broadcast the step)"));
  CHECK_THROWS_WITH(dropout(l.x, step, 1.0, 1),
                    Contains("[dropout] the drop probability p must be in [0, 1), got 1"));
}

// ---- frontend: DSL functions and layers ----------------------------------------------------

TEST_CASE("error: [flatten] dims") {
  Input y{{3, 4}, "y"};
  CHECK_THROWS_AS(lower({{"f", flatten(y, 1, 5)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"f", flatten(y, 1, 5)}}),
                    Contains("[flatten] dims 1 to 5 are not a range of the 3 dims of f32[N,3,4]"));
  CHECK_THROWS_WITH(lower({{"f", flatten(y, 0)}}),
                    Contains("[flatten] cannot merge the batch dim of f32[N,3,4] with other dims"));
}

TEST_CASE("error: [reshape] of images") {
  Input y{{784}, "y"};
  CHECK_THROWS_AS(lower({{"r", reshape(y, {kN, 1, 28, 27})}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"r", reshape(y, {kN, 1, 28, 27})}}),
                    Contains("[reshape] cannot reshape f32[N,784] to [N,1,28,27]"));
}

TEST_CASE("error: [dropout] in the DSL") {
  Input y{{3}, "y"};
  CHECK_THROWS_AS(lower({{"d", dropout(y, 1.5)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"d", dropout(y, 1.5)}}),
                    Contains("[dropout] the drop probability p must be in [0, 1), got 1.5"));
  CHECK_THROWS_WITH(nn::Dropout(-0.1),
                    Contains("[Dropout] the drop probability p must be in [0, 1), got -0.1"));
}

TEST_CASE("error: [avg_pool2d] has no dilation") {
  Input<2, 4, 4> y("y");
  CHECK_THROWS_AS(lower({{"a", avg_pool2d(y, Pool2dOptions{.dilation = {2, 2}})}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"a", avg_pool2d(y, Pool2dOptions{.dilation = {2, 2}})}}),
                    Contains("[avg_pool2d] has no dilation (as in PyTorch); leave it at 1"));
}

TEST_CASE("error: [Conv2d] sizes and groups") {
  CHECK_THROWS_AS(nn::Conv2d(0, 4, 3), ShapeError);
  CHECK_THROWS_WITH(nn::Conv2d(0, 4, 3), Contains("[Conv2d] in_channels must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::Conv2d(2, 4, 0), Contains("[Conv2d] kernel_size must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::Conv2d(4, 6, {3, 3}, Conv2dOptions{.groups = 4}),
                    Contains("[Conv2d] groups (4) must divide in_channels (4) and out_channels "
                             "(6)"));
}

TEST_CASE("error: [MaxPool2d] and [AvgPool2d] kernel sizes") {
  CHECK_THROWS_AS(nn::MaxPool2d(0), ShapeError);
  CHECK_THROWS_WITH(nn::MaxPool2d(0), Contains("[MaxPool2d] kernel_size must be >= 1, got 0"));
  CHECK_THROWS_WITH(nn::AvgPool2d(-1), Contains("[AvgPool2d] kernel_size must be >= 1, got -1"));
}

TEST_CASE("error: [Unflatten] sizes") {
  CHECK_THROWS_WITH(nn::Unflatten(1, {}), Contains("[Unflatten] needs at least one size"));
  CHECK_THROWS_WITH(nn::Unflatten(1, {0, 3}), Contains("[Unflatten] sizes must be >= 1, got 0"));
  Input y{{12}, "y"};
  nn::Unflatten u(1, {3, 5});
  CHECK_THROWS_AS(lower({{"u", u.forward(y)}}), ShapeError);
  CHECK_THROWS_WITH(lower({{"u", u.forward(y)}}),
                    Contains("[Unflatten] sizes [3,5] hold 15 elements, but dim 1 of f32[N,12] "
                             "has 12"));
  nn::Unflatten far(3, {3, 4});
  CHECK_THROWS_WITH(lower({{"u", far.forward(y)}}),
                    Contains("[Unflatten] dim 3 is out of range for f32[N,12]"));
}
