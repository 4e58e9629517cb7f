#pragma once
// What every benchmark peer trains: a fully-connected network, its loss, Adam's settings and
// the data it reads. The peers (Eigen, libtorch, later kiln) all take this one description,
// so a workload is defined once and each peer computes exactly the same thing.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/rng.h"

namespace kiln::bench {

/** Activation after a linear layer. */
enum class Activation { kIdentity, kTanh, kSigmoid, kRelu };

/** Training loss on the last layer's output. */
enum class Loss {
  kMse,          ///< mean of (y - t)^2 over all batch x output elements, as torch's MSELoss
  kCrossEntropy, ///< softmax cross-entropy with integer labels, mean over the batch
};

/** Adam's hyper-parameters; the bias correction divides by 1 - beta^i (Kingma and Ba). */
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

/**
 * A multilayer perceptron: layer l maps widths[l] features to widths[l + 1] and is followed by
 * activations[l]. Parameters are laid out as PyTorch's state_dict of an nn.Sequential of
 * Linear layers: W0 [widths[1], widths[0]] row-major, b0 [widths[1]], W1, b1, ...
 */
struct MlpSpec {
  std::vector<int> widths;
  std::vector<Activation> activations;
  Loss loss = Loss::kMse;
  AdamConfig adam;
  int max_batch = 1; ///< largest batch a step accepts; peers size their buffers for it

  /** Number of linear layers. */
  int layers() const { return static_cast<int>(widths.size()) - 1; }
  int inputs() const { return widths.front(); }
  int outputs() const { return widths.back(); }
  /** Floats per sample in the target array: outputs() for MSE, 1 (the label) for cross-entropy. */
  int target_width() const { return loss == Loss::kMse ? outputs() : 1; }
  /** Total number of parameters (weights and biases of every layer). */
  int parameter_count() const;
  /** Offset of layer l's weight in the flat parameter array; its bias follows the weight. */
  int weight_offset(int l) const;
  /**
   * Matrix-multiply flops of one training step at this batch: 2*batch*in*out per layer for the
   * forward pass and twice that for the backward pass (input and weight gradients).
   */
  double step_flops(int batch) const;
  /** One line such as "1-14-10-1 tanh,sigmoid,identity mse". */
  std::string describe() const;

  /**
   * Throws kiln::ShapeError (message prefixed with `api`) unless there are at least two
   * widths, all positive, one activation per layer and max_batch >= 1.
   */
  void validate(const char* api) const;
};

/**
 * Row-major training data, not owned: x is [count, spec.inputs()], y is [count,
 * spec.target_width()] (targets for MSE, integer-valued labels stored as floats for
 * cross-entropy).
 */
template <typename S>
struct DataView {
  const S* x = nullptr;
  const S* y = nullptr;
  int count = 0;
};

/**
 * Weights and biases drawn as PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * for both, layer by layer in the flat layout of MlpSpec. Deterministic in `seed`.
 */
std::vector<float> pytorch_default_init(const MlpSpec& spec, uint64_t seed);

/**
 * The sample order of each epoch of a whole run: one Rng(seed) for the run, and before every
 * epoch an in-place Fisher-Yates shuffle of `order` (start it as 0..count-1). Every peer walks
 * its data with this, so they all see the same mini-batches.
 */
void shuffle_epoch(std::span<int> order, Rng& rng);

/**
 * Throws kiln::ShapeError (prefixed with `api`) unless 1 <= batch <= spec.max_batch.
 */
void check_batch(const char* api, const MlpSpec& spec, int batch);

/**
 * Throws kiln::ShapeError (prefixed with `api`) unless data has at least one sample, both
 * pointers are set, epochs >= 0 and batch is valid for the spec.
 */
template <typename S>
void check_run(const char* api, const MlpSpec& spec, const DataView<S>& data, int epochs,
               int batch);

} // namespace kiln::bench
