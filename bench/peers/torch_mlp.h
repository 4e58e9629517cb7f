#pragma once
// The framework peer: the same MLP written the way a libtorch user writes it (eager mode,
// torch::nn::Linear in a Sequential, torch::optim::Adam, loss.backward()). No torch header is
// included here, so only torch_mlp.cpp pays for compiling them.

#include <cstdint>
#include <memory>
#include <span>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/**
 * MLP trainer on libtorch's C++ API, float32 on the CPU. Same contract as EigenMlp: row-major
 * data, parameters in PyTorch's layout, step returns the loss before the update.
 */
class TorchMlp {
public:
  /** Builds the modules and the optimizer. Throws kiln::ShapeError when the spec is invalid. */
  explicit TorchMlp(MlpSpec spec);
  ~TorchMlp();
  TorchMlp(TorchMlp&&) noexcept;
  TorchMlp& operator=(TorchMlp&&) noexcept;

  const MlpSpec& spec() const { return spec_; }
  int parameter_count() const { return spec_.parameter_count(); }

  /** Copies parameters in (flat PyTorch layout) and starts a fresh Adam. Throws
   *  kiln::ShapeError when the size is not parameter_count(). */
  void set_parameters(std::span<const float> flat);
  /** Copies the parameters out; same size rule as set_parameters. */
  void get_parameters(std::span<float> flat) const;

  /** zero_grad, forward, loss, backward, Adam step; returns the loss before the update.
   *  x is [batch, inputs], target [batch, target_width] (labels as floats for cross-entropy).
   *  Throws ShapeError for a bad batch. */
  float step(const float* x, const float* target, int batch);

  /** Whole run, same order of samples as EigenMlp::run_epochs (shuffle_epoch with Rng(seed)).
   *  Returns the mean step loss of the last epoch. */
  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed);
  /** Mean loss over every sample of `data`, one forward pass under NoGradGuard. */
  float evaluate(const DataView<float>& data);

private:
  struct Impl;
  MlpSpec spec_;
  std::unique_ptr<Impl> impl_;
};

/** Sets torch's intra-op threads (OpenMP) and, when OpenBLAS is loaded, its thread count. */
void set_torch_threads(int threads);

} // namespace kiln::bench
