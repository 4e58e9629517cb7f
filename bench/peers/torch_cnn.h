#pragma once
// W5's framework peer: the course's CNN as a libtorch user writes it (eager mode,
// torch::nn::Sequential of Conv2d, ReLU, MaxPool2d, Dropout, Flatten, Linear, torch::optim::Adam,
// loss.backward()). No torch header here, so only torch_cnn.cpp pays for compiling them.

#include <memory>
#include <span>

#include "bench/peers/cnn_spec.h"

namespace kiln::bench {

class TorchCnn {
public:
  explicit TorchCnn(const CnnSpec& spec);
  ~TorchCnn();
  TorchCnn(TorchCnn&&) noexcept;

  /** Flat parameters in PyTorch's layout; starts a fresh Adam. */
  void set_parameters(std::span<const float> flat);
  /** zero_grad, forward (training mode: dropout on), cross-entropy, backward, Adam step on
      images [batch, 784] with labels (as floats); returns the loss before the update. */
  float step(const float* x, const float* labels, int batch);

private:
  struct Impl;
  CnnSpec spec_;
  std::unique_ptr<Impl> impl_;
};

} // namespace kiln::bench
