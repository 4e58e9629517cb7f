#pragma once
// The primitive ops, one line each: KILN_OP(EnumName, "text name"). Each op's rules (shape and
// dtype, derivative, reference semantics, rendering) live in one OpDef in ir/ops/<family>.cpp.
// Adding an op: one line here, one OpDef there, one row in tests/ir/op_table_test.cpp.

#define KILN_FOR_EACH_OP(X)                                                                        \
  /* leaves (keep-sorted) */                                                                       \
  X(Constant, "constant")                                                                          \
  X(Input, "input")                                                                                \
  X(Param, "param")                                                                                \
  /* elementwise, unary (keep-sorted) */                                                           \
  X(Abs, "abs")                                                                                    \
  X(Cast, "cast")                                                                                  \
  X(Cos, "cos")                                                                                    \
  X(Erf, "erf")                                                                                    \
  X(Exp, "exp")                                                                                    \
  X(Log, "log")                                                                                    \
  X(Neg, "neg")                                                                                    \
  X(Relu, "relu")                                                                                  \
  X(Sigmoid, "sigmoid")                                                                            \
  X(Sin, "sin")                                                                                    \
  X(Softsign, "softsign")                                                                          \
  X(Sqrt, "sqrt")                                                                                  \
  X(Square, "square")                                                                              \
  X(StopGradient, "stop_gradient")                                                                 \
  X(Tanh, "tanh")                                                                                  \
  /* elementwise, binary and ternary (keep-sorted) */                                              \
  X(Add, "add")                                                                                    \
  X(Div, "div")                                                                                    \
  X(Equal, "equal")                                                                                \
  X(Greater, "greater")                                                                            \
  X(GreaterEqual, "greater_equal")                                                                 \
  X(Less, "less")                                                                                  \
  X(LessEqual, "less_equal")                                                                       \
  X(Maximum, "maximum")                                                                            \
  X(Minimum, "minimum")                                                                            \
  X(Mul, "mul")                                                                                    \
  X(NotEqual, "not_equal")                                                                         \
  X(Pow, "pow")                                                                                    \
  X(Select, "select")                                                                              \
  X(Sub, "sub")                                                                                    \
  /* elementwise, positional (keep-sorted) */                                                      \
  X(Dropout, "dropout")                                                                            \
  /* reductions (keep-sorted) */                                                                   \
  X(Max, "max")                                                                                    \
  X(Mean, "mean")                                                                                  \
  X(Min, "min")                                                                                    \
  X(Sum, "sum")                                                                                    \
  /* movement (keep-sorted) */                                                                     \
  X(Broadcast, "broadcast")                                                                        \
  X(Concat, "concat")                                                                              \
  X(Reshape, "reshape")                                                                            \
  X(Slice, "slice")                                                                                \
  X(Transpose, "transpose")                                                                        \
  /* contraction and indexing (keep-sorted) */                                                     \
  X(Gather, "gather")                                                                              \
  X(MatMul, "matmul")                                                                              \
  X(OneHot, "one_hot")                                                                             \
  /* windows over [N, C, H, W] (keep-sorted) */                                                    \
  X(AvgPool2d, "avg_pool2d")                                                                       \
  X(AvgPool2dGrad, "avg_pool2d_grad")                                                              \
  X(Conv2d, "conv2d")                                                                              \
  X(Conv2dInputGrad, "conv2d_input_grad")                                                          \
  X(Conv2dWeightGrad, "conv2d_weight_grad")                                                        \
  X(MaxPool2d, "max_pool2d")                                                                       \
  X(MaxUnpool2d, "max_unpool2d")
