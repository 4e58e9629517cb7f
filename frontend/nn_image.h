#pragma once
// The layers of convolutional networks, as in torch.nn: Conv2d, MaxPool2d, AvgPool2d, Flatten,
// Unflatten and Dropout, with PyTorch's names, defaults, parameter shapes and initialization, so
// a checkpoint maps one to one onto a state_dict ("0.weight" [out, in / groups, kh, kw]).
//
//   kiln::nn::Sequential net{kiln::nn::Unflatten(1, {1, 28, 28}),     // rows of 784 pixels
//                            kiln::nn::Conv2d(1, 32, 3), kiln::nn::ReLU(),
//                            kiln::nn::MaxPool2d(2), kiln::nn::Dropout(0.25),
//                            kiln::nn::Flatten(), kiln::nn::Linear(32 * 13 * 13, 10)};

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/image.h"
#include "frontend/nn.h"

namespace kiln::nn {

/**
 * 2-D convolution of [N, in, H, W] images with `out` filters of kernel_size (square, or
 * {height, width}), plus a bias per filter. Weight [out, in / groups, kh, kw] and bias [out]
 * start as PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = in / groups * kh * kw
 * (kaiming_uniform with a = sqrt(5), and its bias bound).
 */
class Conv2d : public Module {
public:
  Conv2d(int64_t in_channels, int64_t out_channels, std::array<int64_t, 2> kernel_size,
         Conv2dOptions options = {}, bool bias = true);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
         int64_t padding = 0, bool bias = true);
  Expr forward(const Expr& x) const override;
  std::vector<Param<>> parameters() const override;
  void set_prefix(const std::string& prefix) override;
  std::string describe() const override;

  Param<> weight;
  Param<> bias;
  bool has_bias;
  Conv2dOptions options;
};

/** Max pooling over windows (stride: the kernel's size unless given). */
class MaxPool2d : public Module {
public:
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                     int64_t dilation = 1);
  explicit MaxPool2d(Pool2dOptions options);
  Expr forward(const Expr& x) const override;
  std::string describe() const override;

  Pool2dOptions options;
};

/** Average pooling over windows, zero padding counted (stride: the kernel's size unless given). */
class AvgPool2d : public Module {
public:
  explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
  explicit AvgPool2d(Pool2dOptions options);
  Expr forward(const Expr& x) const override;
  std::string describe() const override;

  Pool2dOptions options;
};

/** Merges dims start_dim..end_dim into one; the default turns each sample into a row. */
class Flatten : public Module {
public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1);
  Expr forward(const Expr& x) const override;
  std::string describe() const override;

private:
  int64_t start_, end_;
};

/** Splits dim `dim` into `sizes` (Unflatten(1, {1, 28, 28}) turns rows of 784 into images). */
class Unflatten : public Module {
public:
  Unflatten(int64_t dim, std::vector<int64_t> sizes);
  Expr forward(const Expr& x) const override;
  std::string describe() const override;

private:
  int64_t dim_;
  std::vector<int64_t> sizes_;
};

/**
 * Zeroes each element with probability p while training, scaling the others by 1 / (1 - p); the
 * identity when evaluating (kiln::dropout). Each layer draws its own masks: `seed` picks them
 * (by default a fresh one per layer, in the order layers are made).
 */
class Dropout : public Module {
public:
  explicit Dropout(double p = 0.5);
  Dropout(double p, int64_t seed);
  Expr forward(const Expr& x) const override;
  std::string describe() const override;

  double p;
  int64_t seed;
};

} // namespace kiln::nn
