#pragma once
// W5's network, the course's CNN (dnn101): Conv2d(1, 32, 3) - ReLU - Conv2d(32, 64, 3) - ReLU -
// MaxPool2d(2) - Dropout(0.25) - Flatten - Linear(9216, 128) - ReLU - Dropout(0.5) -
// Linear(128, 10) on 28 x 28 images, softmax cross-entropy, Adam. Every CNN peer (kiln, libtorch)
// takes this one description, its flat parameters and its data.

#include <cstdint>
#include <vector>

namespace kiln::bench {

/** The course's CNN and its training settings. */
struct CnnSpec {
  int batch = 32;
  double lr = 1e-3;
  double dropout1 = 0.25, dropout2 = 0.5;

  /** Parameters in PyTorch's state_dict order and layout: conv1.weight [32, 1, 3, 3],
      conv1.bias, conv2.weight [64, 32, 3, 3], conv2.bias, fc1.weight [128, 9216], fc1.bias,
      fc2.weight [10, 128], fc2.bias: 1,199,882 floats. */
  static const std::vector<int64_t>& parameter_sizes();
  static int64_t parameter_count();
  /**
   * Multiply-add flops of one training step at `batch` (2 per multiply-add): every layer's
   * forward product, its weight gradient, and the input gradient of every layer but the first.
   */
  static double step_flops(int batch);
};

/** PyTorch's default initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every tensor. */
std::vector<float> cnn_default_init(uint64_t seed);

/** `count` images of 784 pixels (standard normal) and labels in [0, 10) (as floats). */
struct CnnData {
  std::vector<float> x, y;
  int count = 0;
};
CnnData cnn_data(int count, uint64_t seed);

} // namespace kiln::bench
