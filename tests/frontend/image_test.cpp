// The DSL's image ops and layers: static shapes, what they lower to, PyTorch's names,
// descriptions and initialization for the course's CNN, reshapes, and dropout's two modes.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "frontend/kiln.h"
#include "ir/autodiff.h"
#include "ir/interpret.h"
#include "ir/print.h"
#include "tests/ir/random_bindings.h"

using namespace kiln;
using ir::Bindings;
using ir::DType;
using ir::Tensor;

namespace {

/** The course's CNN (dnn101), taking rows of 784 pixels as the Trainer feeds them. */
nn::Sequential course_cnn() {
  return nn::Sequential{nn::Unflatten(1, {1, 28, 28}),
                        nn::Conv2d(1, 32, 3, 1),
                        nn::ReLU(),
                        nn::Conv2d(32, 64, 3, 1),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Dropout(0.25),
                        nn::Flatten(),
                        nn::Linear(9216, 128),
                        nn::ReLU(),
                        nn::Dropout(0.5),
                        nn::Linear(128, 10)};
}

int count_ops(const ir::Graph& g, ir::Op op) {
  int n = 0;
  for (const ir::Node& node : g.nodes())
    n += node.op == op;
  return n;
}

} // namespace

TEST_CASE("conv2d with static dims has PyTorch's output shape, known while compiling") {
  Input<1, 28, 28> x("x");
  Param<32, 1, 3, 3> K("K");
  auto u = conv2d(x, K);
  static_assert(std::is_same_v<decltype(u)::StaticShape, Dims<kN, 32, 26, 26>>);
  auto v = conv2d(u, Param<64, 32, 3, 3>("L"));
  static_assert(std::is_same_v<decltype(v)::StaticShape, Dims<kN, 64, 24, 24>>);
  const Lowered l = lower({{"v", v}});
  CHECK(l.graph.node(l.graph.output("v")).type.shape == ir::Shape{ir::kBatch, 64, 24, 24});
  CHECK(count_ops(l.graph, ir::Op::Conv2d) == 2);
  // With options the shape is known when lowered: stride 2, padding 1 gives 14 x 14.
  const Lowered s = lower({{"s", conv2d(x, K, {.stride = {2, 2}, .padding = {1, 1}})}});
  CHECK(s.graph.node(s.graph.output("s")).type.shape == ir::Shape{ir::kBatch, 32, 14, 14});
}

TEST_CASE("pooling lowers to the ops with PyTorch's default stride, the kernel's size") {
  Input<3, 8, 6> x("x");
  const Lowered l = lower({{"m", max_pool2d(x, 2)}, {"a", avg_pool2d(x, {.kernel = {3, 2}})}});
  const ir::Node& m = l.graph.node(l.graph.output("m"));
  CHECK(m.op == ir::Op::MaxPool2d);
  CHECK(m.inputs[0] == m.inputs[1]); // keys and values are x
  CHECK(m.attrs.ints("stride") == std::vector<int64_t>{2, 2});
  CHECK(m.type.shape == ir::Shape{ir::kBatch, 3, 4, 3});
  const ir::Node& a = l.graph.node(l.graph.output("a"));
  CHECK(a.op == ir::Op::AvgPool2d);
  CHECK(a.attrs.ints("stride") == std::vector<int64_t>{3, 2});
  CHECK(a.type.shape == ir::Shape{ir::kBatch, 3, 2, 3});
}

TEST_CASE("the course's CNN as layers: PyTorch's names, shapes, size and description") {
  nn::Sequential net = course_cnn();
  const std::vector<std::pair<std::string, std::vector<int64_t>>> want = {
      {"1.weight", {32, 1, 3, 3}},  {"1.bias", {32}},
      {"3.weight", {64, 32, 3, 3}}, {"3.bias", {64}},
      {"8.weight", {128, 9216}},    {"8.bias", {128}},
      {"11.weight", {10, 128}},     {"11.bias", {10}}};
  const std::vector<Param<>> params = net.parameters();
  REQUIRE(params.size() == want.size());
  int64_t count = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    CHECK(params[i].name() == want[i].first);
    CHECK(params[i].dims() == want[i].second);
    count += ir::Shape(params[i].dims()).static_numel();
  }
  CHECK(count == 1199882); // torch: sum(p.numel() for p in net.parameters())
  // print(net) in PyTorch 1.13, line for line.
  CHECK(net.describe() ==
        "Sequential(\n"
        "  (0): Unflatten(dim=1, unflattened_size=(1, 28, 28))\n"
        "  (1): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (2): ReLU()\n"
        "  (3): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1))\n"
        "  (4): ReLU()\n"
        "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (6): Dropout(p=0.25, inplace=False)\n"
        "  (7): Flatten(start_dim=1, end_dim=-1)\n"
        "  (8): Linear(in_features=9216, out_features=128, bias=True)\n"
        "  (9): ReLU()\n"
        "  (10): Dropout(p=0.5, inplace=False)\n"
        "  (11): Linear(in_features=128, out_features=10, bias=True)\n"
        ")");
  CHECK(nn::AvgPool2d(2).describe() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  CHECK(nn::Conv2d(4, 6, {3, 2},
                   {.stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 2}, .groups = 2}, false)
            .describe() == "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), "
                           "dilation=(2, 2), groups=2, bias=False)");
  CHECK(nn::Unflatten(1, {12}).describe() == "Unflatten(dim=1, unflattened_size=(12,))");
  Input y{{784}, "y"};
  const Lowered l = lower({{"F", net(y)}});
  CHECK(l.graph.node(l.graph.output("F")).type.shape == ir::Shape{ir::kBatch, 10});
}

TEST_CASE("Conv2d's initial values are uniform in +-1/sqrt(fan_in), as PyTorch's") {
  // kaiming_uniform_(a = sqrt(5)) has bound sqrt(6 / ((1 + 5) fan_in)) = 1/sqrt(fan_in), and the
  // bias the same bound; fan_in = in / groups * kh * kw.
  nn::Conv2d conv(6, 40, {3, 5}, {.groups = 2});
  CHECK(conv.weight.dims() == std::vector<int64_t>{40, 3, 3, 5});
  Input<6, 9, 9> x("x");
  const auto v = init_parameters(lower({{"u", conv.forward(x)}}).params, 4, DType::F64);
  const double bound = 1.0 / std::sqrt(3.0 * 3 * 5);
  for (const char* p : {"weight", "bias"}) {
    const std::vector<double>& w =
        v.at(std::string(conv.weight.name()).replace(conv.weight.name().find("weight"), 6, p)).data;
    double lo = 0, hi = 0;
    for (double e : w) {
      lo = std::min(lo, e);
      hi = std::max(hi, e);
    }
    INFO(p);
    CHECK(hi <= bound);
    CHECK(lo >= -bound);
    if (w.size() > 100) { // 1800 weights reach close to both ends
      CHECK(hi > 0.95 * bound);
      CHECK(lo < -0.95 * bound);
    }
  }
}

TEST_CASE("the bias of a Conv2d adds to every pixel of its channel") {
  nn::Conv2d conv(1, 2, 1);
  Input<1, 2, 3> x("x");
  const Lowered l = lower({{"u", conv.forward(x)}}, DType::F64);
  Bindings v = init_parameters(l.params, 1, DType::F64);
  v.emplace("x", Tensor(DType::F64, {1, 1, 2, 3}, {1, 2, 3, 4, 5, 6}));
  const Tensor u = ir::interpret(l.graph, v)[0];
  const double w0 = v.at(conv.weight.name())[0], w1 = v.at(conv.weight.name())[1];
  const double b0 = v.at(conv.bias.name())[0], b1 = v.at(conv.bias.name())[1];
  for (int i = 0; i < 6; ++i) {
    CHECK(u[i] == Approx(w0 * (i + 1) + b0));
    CHECK(u[6 + i] == Approx(w1 * (i + 1) + b1));
  }
}

TEST_CASE("flatten and Unflatten reshape without moving values") {
  Input y{{12}, "y"};
  nn::Unflatten u(1, {3, 2, 2});
  const Expr img = u.forward(y);
  const Lowered l = lower({{"img", img}, {"back", flatten(img)}, {"mid", flatten(img, 2)}});
  CHECK(l.graph.node(l.graph.output("img")).type.shape == ir::Shape{ir::kBatch, 3, 2, 2});
  CHECK(l.graph.node(l.graph.output("back")).type.shape == ir::Shape{ir::kBatch, 12});
  CHECK(l.graph.node(l.graph.output("mid")).type.shape == ir::Shape{ir::kBatch, 3, 4});
  const Bindings v = test::random_bindings(l.graph, 2, 3);
  const std::vector<Tensor> out = ir::interpret(l.graph, v);
  for (const Tensor& t : out)
    CHECK(t.data == v.at("y").data);
  const Lowered r = lower({{"r", reshape(y, {kN, 4, 3})}});
  CHECK(r.graph.node(r.graph.output("r")).type.shape == ir::Shape{ir::kBatch, 4, 3});
}

TEST_CASE("dropout is the identity when evaluating and draws a mask per step when training") {
  Input y{{4000}, "y"};
  const Expr d = dropout(y, 0.25, 7);
  const Lowered eval = lower({{"d", d}}, DType::F64);
  CHECK(count_ops(eval.graph, ir::Op::Dropout) == 0);
  CHECK(eval.graph.output("d") == *eval.graph.find_leaf(ir::Op::Input, "y"));

  const Lowered train = lower({{"d", d}}, DType::F64, /*training=*/true);
  REQUIRE(count_ops(train.graph, ir::Op::Dropout) == 1);
  REQUIRE(train.graph.find_leaf(ir::Op::Param, "step"));
  CHECK(train.params.empty()); // "step" belongs to the training step, not to the network
  Bindings v{{"y", Tensor(DType::F64, {2, 4000}, 1.0)}, {"step", Tensor(DType::F64, {}, 3.0)}};
  auto mask = [&](double step) {
    v["step"] = Tensor(DType::F64, {}, step);
    return ir::interpret(train.graph, v)[0];
  };
  const Tensor m3 = mask(3), m4 = mask(4);
  int64_t dropped = 0, differ = 0;
  for (int64_t i = 0; i < m3.numel(); ++i) {
    CHECK((m3[i] == 0.0 || m3[i] == Approx(1.0 / 0.75)));
    dropped += m3[i] == 0.0;
    differ += (m3[i] == 0.0) != (m4[i] == 0.0);
  }
  // 8000 draws with p = 0.25: 2000 expected, a standard deviation of 39.
  CHECK(std::abs(static_cast<double>(dropped) - 2000.0) < 5 * 39.0);
  // Two steps' masks are independent: they differ in 2 p (1 - p) = 37.5 % of the elements.
  CHECK(std::abs(static_cast<double>(differ) - 3000.0) < 5 * 43.3);
  CHECK(mask(3).data == m3.data);
}

TEST_CASE("dropout's gradient drops the same elements as its forward pass") {
  Input y{{50}, "y"};
  Input w{{50}, "w"};
  const Lowered l =
      lower({{"f", sum(mul(dropout(y, 0.5, 3), w))}, {"d", dropout(y, 0.5, 3)}}, DType::F64, true);
  const ir::Graph g = ir::grad(l.graph, "f", {"y"});
  Bindings v = test::random_bindings(g, 3, 5);
  v["step"] = Tensor(DType::F64, {}, 11.0);
  const Tensor d = ir::interpret_node(g, g.output("d"), v);
  const Tensor dy = ir::interpret_node(g, g.output("grad_y"), v);
  for (int64_t i = 0; i < d.numel(); ++i)
    CHECK(dy[i] == Approx(d[i] == 0.0 ? 0.0 : 2.0 * v.at("w")[i]));
}
