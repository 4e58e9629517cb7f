// conv2d and max_pool2d match PyTorch's definitions: the outputs and the gradients of
// sum(out * g) on a fixed case (strides, zero padding, dilation, groups; a pool with
// overlapping windows and ties), against values torch.nn.functional computed
// (conv_pool_reference.py prints conv_pool_reference.h). The reference interpreter must agree
// exactly: every value is a dyadic rational.

#include <catch2/catch.hpp>

#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/val.h"
#include "tests/ir/conv_pool_reference.h"

using namespace kiln;
using namespace kiln::ir;

namespace {

/** ((i a) mod m - c) / d for i = 0, 1, ...: the script's inputs. */
Tensor seq(std::vector<int64_t> dims, int64_t a, int64_t m, int64_t c, double d) {
  Tensor t(DType::F64, std::move(dims));
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = static_cast<double>((i * a) % m - c) / d;
  return t;
}

Type f64(Shape s) {
  return Type{DType::F64, std::move(s)};
}

} // namespace

TEST_CASE("conv2d and its gradients equal PyTorch's on a strided, padded, dilated, grouped case") {
  Builder b;
  const Val x(b, b.input("x", f64({kBatch, 4, 5, 6})));
  const Val w(b, b.param("w", f64({6, 2, 3, 2})));
  const Val y = conv2d(x, w,
                       Attrs()
                           .set("stride", std::vector<int64_t>{2, 1})
                           .set("padding", std::vector<int64_t>{1, 2})
                           .set("dilation", std::vector<int64_t>{1, 2})
                           .set("groups", 2));
  REQUIRE(y.shape() == Shape{kBatch, 6, 3, 8});
  const Val g(b, b.input("g", y.type()));
  b.set_output("y", y.id());
  b.set_output("f", sum_all(y * g).id());
  const Graph dg = grad(b.graph(), "f", {"x", "w"});
  const Bindings v{{"x", seq({2, 4, 5, 6}, 37, 23, 11, 8)},
                   {"w", seq({6, 2, 3, 2}, 29, 17, 8, 4)},
                   {"g", seq({2, 6, 3, 8}, 13, 11, 5, 2)}};
  CHECK(interpret_node(dg, dg.output("y"), v).data == test::pytorch::kConvY);
  CHECK(interpret_node(dg, dg.output("grad_x"), v).data == test::pytorch::kConvDx);
  CHECK(interpret_node(dg, dg.output("grad_w"), v).data == test::pytorch::kConvDw);
}

TEST_CASE("max_pool2d and its gradient equal PyTorch's with overlapping windows and ties") {
  Builder b;
  const Val x(b, b.input("x", f64({kBatch, 3, 5, 4})));
  const Val y = max_pool2d(x, Attrs()
                                  .set("kernel", std::vector<int64_t>{3, 3})
                                  .set("stride", std::vector<int64_t>{2, 2})
                                  .set("padding", std::vector<int64_t>{1, 1}));
  REQUIRE(y.shape() == Shape{kBatch, 3, 3, 2});
  const Val g(b, b.input("g", y.type()));
  b.set_output("y", y.id());
  b.set_output("f", sum_all(y * g).id());
  const Graph dg = grad(b.graph(), "f", {"x"});
  const Bindings v{{"x", seq({2, 3, 5, 4}, 37, 7, 3, 2)}, {"g", seq({2, 3, 3, 2}, 13, 11, 5, 2)}};
  CHECK(interpret_node(dg, dg.output("y"), v).data == test::pytorch::kPoolY);
  CHECK(interpret_node(dg, dg.output("grad_x"), v).data == test::pytorch::kPoolDx);
}
