#pragma once
// The op table: one row per primitive op (several for ops with variants), with operand types
// and value domains where each op is smooth. Shared by the IR tests (shapes, derivatives) and
// the codegen tests (generated kernels against the interpreter). Adding an op to
// ir/op_list.h without a row here fails "every op has a row".

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "base/rng.h"
#include "ir/interpret.h"
#include "ir/val.h"

namespace kiln::test {

using namespace kiln::ir;

inline constexpr int64_t N = kBatch;
inline constexpr int64_t kRows = 3; // the batch size the rows are evaluated at

/** How to draw an operand's values so that the op is smooth around them. */
enum class Dom { Normal, Positive, NonZero, Binary, Labels4, Spread, Distinct, AwayFromFirst };

struct Operand {
  Type type;
  Dom dom = Dom::Normal;
};

struct Row {
  Op op;
  std::vector<Operand> in;
  Attrs attrs = {};
};

inline Type f64(Shape s) {
  return Type{DType::F64, std::move(s)};
}
inline Type i32(Shape s) {
  return Type{DType::I32, std::move(s)};
}

inline Attrs mm(int ta, int tb) {
  return Attrs().set("ta", ta).set("tb", tb);
}

/** Window attributes: kernel (pooling only; {} for none), stride, padding, dilation. */
inline Attrs win(std::vector<int64_t> kernel, std::vector<int64_t> stride,
                 std::vector<int64_t> padding = {0, 0}, std::vector<int64_t> dilation = {1, 1}) {
  Attrs a = Attrs().set("stride", stride).set("padding", padding).set("dilation", dilation);
  if (!kernel.empty())
    a.set("kernel", kernel);
  return a;
}
/** The strided, padded, dilated, grouped convolution of the table: x [N,4,5,5], w [4,2,3,3]. */
inline Attrs odd_conv() {
  return win({}, {2, 1}, {1, 2}, {1, 2}).set("groups", 2);
}

inline const std::vector<Row>& op_table() {
  static const std::vector<Row> rows = {
      // keep-sorted by op
      {Op::Abs, {{f64({N, 3}), Dom::NonZero}}},
      {Op::Add, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Broadcast, {{f64({3})}}, Attrs().set("shape", std::vector<int64_t>{N, 2, 3})},
      {Op::AvgPool2d, {{f64({N, 2, 4, 5})}}, win({2, 3}, {2, 1}, {1, 1})},
      {Op::AvgPool2dGrad,
       {{f64({N, 2, 3, 5})}},
       win({2, 3}, {2, 1}, {1, 1}).set("input", std::vector<int64_t>{4, 5})},
      {Op::Cast, {{f64({N, 3})}}, Attrs().set("dtype", "f64")},
      {Op::Concat, {{f64({N, 2})}, {f64({N, 3})}}, Attrs().set("axis", 1)},
      {Op::Conv2d, {{f64({N, 2, 5, 4})}, {f64({3, 2, 3, 2})}}},
      {Op::Conv2d, {{f64({N, 4, 5, 5})}, {f64({4, 2, 3, 3})}}, odd_conv()},
      {Op::Conv2dInputGrad,
       {{f64({N, 3, 3, 3})}, {f64({3, 2, 3, 2})}},
       Attrs().set("input", std::vector<int64_t>{5, 4})},
      {Op::Conv2dInputGrad,
       {{f64({N, 4, 3, 5})}, {f64({4, 2, 3, 3})}},
       odd_conv().set("input", std::vector<int64_t>{5, 5})},
      {Op::Conv2dWeightGrad,
       {{f64({N, 2, 5, 4})}, {f64({N, 3, 3, 3})}},
       Attrs().set("kernel", std::vector<int64_t>{3, 2})},
      {Op::Conv2dWeightGrad,
       {{f64({N, 4, 5, 5})}, {f64({N, 4, 3, 5})}},
       odd_conv().set("kernel", std::vector<int64_t>{3, 3})},
      {Op::Cos, {{f64({N, 3})}}},
      {Op::Div, {{f64({N, 3})}, {f64({N, 3}), Dom::Positive}}},
      {Op::Dropout,
       {{f64({N, 3, 5})}, {i32({N, 3, 5}), Dom::Labels4}},
       Attrs().set("p", 0.5).set("seed", 7)},
      {Op::Equal, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Erf, {{f64({N, 3})}}},
      {Op::Exp, {{f64({N, 3})}}},
      {Op::Gather, {{f64({N, 4})}, {i32({N}), Dom::Labels4}}},
      {Op::Greater, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::GreaterEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Less, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::LessEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Log, {{f64({N, 3}), Dom::Positive}}},
      {Op::MatMul, {{f64({N, 4})}, {f64({4, 3})}}, mm(0, 0)},
      {Op::MatMul, {{f64({N, 4})}, {f64({3, 4})}}, mm(0, 1)},
      {Op::MatMul, {{f64({4, N})}, {f64({4, 3})}}, mm(1, 0)},
      {Op::MatMul, {{f64({4, N})}, {f64({3, 4})}}, mm(1, 1)},
      {Op::Max, {{f64({N, 4}), Dom::Spread}}, Attrs().set("axes", std::vector<int64_t>{1})},
      {Op::MaxPool2d,
       {{f64({N, 2, 4, 4}), Dom::Distinct}, {f64({N, 2, 4, 4})}},
       win({2, 2}, {2, 2})},
      {Op::MaxPool2d,
       {{f64({N, 2, 5, 4}), Dom::Distinct}, {f64({N, 2, 5, 4})}},
       win({3, 3}, {2, 1}, {1, 1}, {1, 1})},
      {Op::MaxUnpool2d,
       {{f64({N, 2, 4, 4}), Dom::Distinct}, {f64({N, 2, 2, 2})}},
       win({2, 2}, {2, 2})},
      {Op::MaxUnpool2d,
       {{f64({N, 2, 5, 4}), Dom::Distinct}, {f64({N, 2, 3, 4})}},
       win({3, 3}, {2, 1}, {1, 1}, {1, 1})},
      {Op::Maximum, {{f64({N, 3})}, {f64({N, 3}), Dom::AwayFromFirst}}},
      {Op::Mean, {{f64({N, 4})}}, Attrs().set("axes", std::vector<int64_t>{0})},
      {Op::Min, {{f64({N, 4}), Dom::Spread}}, Attrs().set("axes", std::vector<int64_t>{1})},
      {Op::Minimum, {{f64({N, 3})}, {f64({N, 3}), Dom::AwayFromFirst}}},
      {Op::Mul, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Neg, {{f64({N, 3})}}},
      {Op::NotEqual, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::OneHot, {{i32({N}), Dom::Labels4}}, Attrs().set("depth", 4).set("dtype", "f64")},
      {Op::Pow, {{f64({N, 3}), Dom::Positive}, {f64({N, 3})}}},
      {Op::Relu, {{f64({N, 3}), Dom::NonZero}}},
      {Op::Reshape, {{f64({N, 6})}}, Attrs().set("shape", std::vector<int64_t>{N, 2, 3})},
      {Op::Select, {{f64({N, 3}), Dom::Binary}, {f64({N, 3})}, {f64({N, 3})}}},
      {Op::Sigmoid, {{f64({N, 3})}}},
      {Op::Sin, {{f64({N, 3})}}},
      {Op::Slice, {{f64({N, 5})}}, Attrs().set("axis", 1).set("begin", 1).set("end", 4)},
      {Op::Softsign, {{f64({N, 3})}}},
      {Op::Sqrt, {{f64({N, 3}), Dom::Positive}}},
      {Op::Square, {{f64({N, 3})}}},
      {Op::StopGradient, {{f64({N, 3})}}},
      {Op::Sub, {{f64({N, 3})}, {f64({N, 3})}}},
      {Op::Sum, {{f64({N, 2, 3})}}, Attrs().set("axes", std::vector<int64_t>{0, 2})},
      {Op::Tanh, {{f64({N, 3})}}},
      {Op::Transpose, {{f64({2, 3, 4})}}, Attrs().set("perm", std::vector<int64_t>{2, 0, 1})},
  };
  return rows;
}

inline std::string leaf_name(size_t i) {
  return "x" + std::to_string(i);
}

/** The graph f = sum(w * op(x0, x1, ...)) plus the op's node as output "y". */
struct RowGraph {
  Graph graph;
  Bindings values;
  std::vector<std::string> float_leaves;
};

inline RowGraph build(const Row& row, uint64_t seed, DType float_type = DType::F64) {
  Builder b;
  Rng rng(seed);
  RowGraph r;
  std::vector<NodeId> ids;
  for (size_t i = 0; i < row.in.size(); ++i) {
    const Operand& o = row.in[i];
    const bool is_f = is_float(o.type.dtype);
    const Type type{is_f ? float_type : o.type.dtype, o.type.shape};
    // Values with a batch dim are inputs (params never have one); both can be differentiated.
    ids.push_back(is_f && !type.shape.has_batch() ? b.param(leaf_name(i), type)
                                                  : b.input(leaf_name(i), type));
    Tensor t(type.dtype, type.shape.concrete(kRows));
    for (int64_t k = 0; k < t.numel(); ++k) {
      double u = rng.uniform(-1.5, 1.5);
      switch (o.dom) {
      case Dom::Normal:
        break;
      case Dom::Positive:
        u = 0.5 + std::abs(u);
        break;
      case Dom::NonZero:
        u = u < 0 ? u - 0.3 : u + 0.3;
        break;
      case Dom::Binary:
        u = u < 0 ? 0.0 : 1.0;
        break;
      case Dom::Labels4:
        u = static_cast<double>(rng.below(4));
        break;
      case Dom::Spread:
        u = 0.5 * static_cast<double>(k % 4) + 0.05 * u;
        break;
      case Dom::Distinct: // pooling keys: no two within a Taylor step, so no argmax flips
        u = 0.3 * static_cast<double>(k) - 0.15 * static_cast<double>(t.numel());
        break;
      case Dom::AwayFromFirst: {
        const double first = r.values.at(leaf_name(0))[k];
        u = first + (u < 0 ? -0.6 : 0.6) + 0.2 * u;
        break;
      }
      }
      t[k] = u;
    }
    if (o.dom == Dom::Spread || o.dom == Dom::Distinct) // so the max is not always last
      for (int64_t k = 0; k + 1 < t.numel(); ++k)
        std::swap(t[k], t[k + rng.below(static_cast<uint32_t>(t.numel() - k))]);
    if (is_f && o.dom != Dom::Binary)
      r.float_leaves.push_back(leaf_name(i)); // a condition stays 0/1
    r.values.emplace(leaf_name(i), std::move(t));
  }
  Attrs attrs = row.attrs;
  if (attrs.has("dtype") && attrs.s("dtype") == "f64")
    attrs.set("dtype", std::string(to_string(float_type)));
  const NodeId y = b.make(row.op, ids, attrs);
  const Type yt = b.type(y);
  const NodeId w = b.input("w", yt);
  Tensor wt(yt.dtype, yt.shape.concrete(kRows));
  for (double& v : wt.data)
    v = rng.uniform(-1.0, 1.0);
  r.values.emplace("w", std::move(wt));
  b.set_output("y", y);
  b.set_output("f", sum_all(Val(b, y) * Val(b, w)).id());
  r.graph = b.graph();
  return r;
}

inline std::string row_name(const Row& row) {
  std::string s(op_name(row.op));
  if (!row.attrs.empty())
    s += " " + row.attrs.str();
  return s;
}

inline bool taylor_applies(const Row& row) {
  return op_def(row.op).differentiable && row.op != Op::StopGradient;
}

} // namespace kiln::test
