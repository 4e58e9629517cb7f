#pragma once
// The hand-written expert baseline: an MLP trainer with explicit forward, backward and Adam on
// Eigen, no autodiff, and no allocation in a step (large layers excepted: Eigen's GEMM takes its
// packing buffers from the heap once they outgrow the stack, as in W4). It is what a careful C++
// programmer would write by hand for these networks; kiln's fused kernels are measured against it.
// Eigen stays inside eigen_mlp.cpp (built with the host's vector ISA); this header holds none of
// its types, so the harness can be compiled with other flags without breaking the ABI.

#include <cstdint>
#include <new>
#include <span>
#include <vector>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/**
 * MLP trainer on Eigen in scalar type S (float for benchmarks, double for gradient checks).
 * Data is row-major [batch, features]; parameters are in PyTorch's layout (see MlpSpec).
 * A step is forward, loss, backward and one Adam update, all on preallocated buffers.
 */
template <typename S>
class EigenMlpT {
public:
  /** Allocates every buffer for spec.max_batch. Parameters start at zero: call set_parameters.
   *  Throws kiln::ShapeError when the spec is invalid. */
  explicit EigenMlpT(MlpSpec spec);

  const MlpSpec& spec() const { return spec_; }
  int parameter_count() const { return spec_.parameter_count(); }

  /** Copies parameters in from the flat PyTorch layout and resets Adam (moments and step
   *  count). Throws kiln::ShapeError when the size is not parameter_count(). */
  void set_parameters(std::span<const S> flat);
  /** Copies the parameters out in the flat PyTorch layout; same size rule as set_parameters. */
  void get_parameters(std::span<S> flat) const;

  /** The loss on one batch, without touching gradients or parameters. x is [batch, inputs],
   *  target is [batch, target_width]. Throws ShapeError for a bad batch, DataError for a
   *  label outside [0, outputs). */
  S loss(const S* x, const S* target, int batch);
  /** Forward and backward on one batch: returns the loss and leaves d loss / d parameters in
   *  gradient(). Parameters are unchanged. Same errors as loss(). */
  S compute_gradient(const S* x, const S* target, int batch);
  /** The gradient of the last compute_gradient or step, in the flat parameter layout. */
  std::span<const S> gradient() const { return grad_; }
  /** One Adam update of the parameters with the given gradient (flat layout). Throws
   *  kiln::ShapeError when the size is not parameter_count(). */
  void apply_adam(std::span<const S> gradient);
  /** One training step (compute_gradient, then Adam on that gradient); returns the loss
   *  before the update. */
  S step(const S* x, const S* target, int batch);

  /**
   * Trains for `epochs` epochs over `data` in mini-batches of `batch` (a shorter last batch
   * when batch does not divide the count), reshuffling every epoch with shuffle_epoch and
   * Rng(seed). Returns the mean step loss of the last epoch (0 when epochs == 0).
   * Throws kiln::ShapeError for an empty data set or a bad batch.
   */
  S run_epochs(const DataView<S>& data, int epochs, int batch, uint64_t seed);
  /** Mean loss over every sample of `data`, in forward passes of max_batch rows (the buffers'
   *  size). */
  S evaluate(const DataView<S>& data);

private:
  // 64-byte aligned storage, so that each layer's block starts on a full AVX-512 vector.
  template <typename T>
  struct CacheAligned {
    using value_type = T;
    CacheAligned() = default;
    template <typename U>
    CacheAligned(const CacheAligned<U>&) {}
    T* allocate(size_t n) {
      return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
    }
    void deallocate(T* p, size_t) { ::operator delete (p, std::align_val_t{64}); }
    bool operator==(const CacheAligned&) const { return true; }
  };
  using Buffer = std::vector<S, CacheAligned<S>>;

  struct Layer {
    int in, out;
    int weight; // offset of W [out, in] in params_ and grad_; the bias follows it
    int output; // offset of the output [out, max_batch] in acts_ and deltas_
    Activation activation;
  };

  void forward(const S* x, int batch);
  S loss_and_output_gradient(const S* target, int batch, bool want_gradient);
  void backward(const S* x, int batch);

  MlpSpec spec_;
  std::vector<Layer> layers_;
  Buffer params_, grad_, adam_m_, adam_v_;
  double beta1_power_ = 1.0, beta2_power_ = 1.0;
  Buffer acts_, deltas_;   // every layer's output and its gradient, one slab each
  std::vector<int> order_; // run_epochs' sample order
  Buffer batch_x_, batch_y_;
};

/** The benchmark peer: float32. */
using EigenMlp = EigenMlpT<float>;

/** Number of threads Eigen's large matrix products may use (OpenMP); the tiny products of the
 *  small workloads always run on the calling thread. */
void set_eigen_threads(int threads);

extern template class EigenMlpT<float>;
extern template class EigenMlpT<double>;

} // namespace kiln::bench
