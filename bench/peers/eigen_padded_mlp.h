#pragma once
// The hand-written limit for the course's smallest networks: a fixed-shape Eigen trainer for an
// MLP with two hidden layers of at most 16 units (W1: 1-14-10-1, W2: 2-14-10-3). Each hidden
// layer is padded to 16 floats, one AVX-512 register, with zero weights: a layer's product is 16
// broadcast FMAs into one register, activations and their derivatives run on whole registers
// (padded lanes masked to zero, so the padding's gradients stay zero), and Adam runs over the
// parameters as one flat, padded array of whole registers. The input and output widths and the
// loss are template parameters, so every size is a compile-time constant. Like eigen_mlp.h, no
// Eigen type crosses this header.

#include <cstdint>
#include <memory>
#include <span>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/**
 * Padded trainer for `spec` (In inputs, Out outputs, two hidden layers of at most 16 units, any
 * activations, MSE or cross-entropy as the spec says). Same contract as EigenMlp: row-major
 * data, parameters in PyTorch's layout, step returns the loss before the update.
 */
class EigenPaddedMlp {
public:
  /** Throws kiln::ShapeError unless padded_mlp_supports(spec). */
  explicit EigenPaddedMlp(const MlpSpec& spec);
  ~EigenPaddedMlp();
  EigenPaddedMlp(EigenPaddedMlp&&) noexcept;

  void set_parameters(std::span<const float> flat);
  void get_parameters(std::span<float> flat) const;
  float step(const float* x, const float* target, int batch);
  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed);
  /** Mean loss over every sample of `data` (no gradients, no update). */
  float evaluate(const DataView<float>& data);

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/** Whether the padded trainer has a fixed-shape instance for `spec`: widths {1, h1, h2, 1} with
 *  MSE or {2, h1, h2, 3} with cross-entropy, h1, h2 <= 16. */
bool padded_mlp_supports(const MlpSpec& spec);

} // namespace kiln::bench
