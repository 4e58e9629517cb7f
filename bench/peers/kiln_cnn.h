#pragma once
// kiln as W5's peer: the course's CNN written with kiln's layers (bench/peers/cnn_spec.h), its
// training step (forward, loss, backward, Adam; dropout on) compiled into one kernel, as the
// Trainer compiles it.

#include <memory>
#include <span>

#include "bench/peers/cnn_spec.h"
#include "frontend/nn.h"

namespace kiln::bench {

/** The course's CNN in kiln's layers: images [N, 784] in, 10 logits out (dropout per `spec`). */
nn::Sequential cnn_network(const CnnSpec& spec);

class KilnCnn {
public:
  explicit KilnCnn(const CnnSpec& spec);
  ~KilnCnn();
  KilnCnn(KilnCnn&&) noexcept;

  /** Flat parameters in PyTorch's layout; also resets Adam's state and step count. */
  void set_parameters(std::span<const float> flat);
  /** One step on images [batch, 784] with labels (as floats); returns the loss. */
  float step(const float* x, const float* labels, int batch);

  struct State;

private:
  std::unique_ptr<State> s_;
};

} // namespace kiln::bench
