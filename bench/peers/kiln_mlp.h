#pragma once
// kiln as a benchmark peer: the MlpSpec's network written with kiln's layers, its training
// step (forward, loss, backward, Adam) compiled into one kernel, and whole runs as one fused
// epoch call per epoch.

#include <memory>
#include <span>

#include "bench/peers/mlp_spec.h"
#include "frontend/nn.h"

namespace kiln::runtime {
class KernelCache;
}

namespace kiln::bench {

/** How KilnMlp compiles its step (the JIT latency benchmarks vary these). */
struct KilnMlpOptions {
  /** Disk cache for the kernel; nullptr: kiln's default cache. */
  runtime::KernelCache* cache = nullptr;
  /** Also compile the fused epoch and the copy specialized for spec.max_batch, as the Trainer
   *  does; off: the step alone, for any batch size. */
  bool trainer_kernel = true;
  /** Also compile the evaluation kernel (the loss alone, sharing the step's weights) that
   *  evaluate() runs. */
  bool eval_kernel = true;
};

/** The spec's network as kiln layers (nn.Sequential of Linear and activations). */
nn::Sequential kiln_network(const MlpSpec& spec);

class KilnMlp {
public:
  explicit KilnMlp(const MlpSpec& spec, const KilnMlpOptions& options = {});
  ~KilnMlp();
  KilnMlp(KilnMlp&&) noexcept;

  /** Flat parameters in PyTorch's layout; also resets Adam's state and step count. */
  void set_parameters(std::span<const float> flat);
  void get_parameters(std::span<float> flat) const;
  /** One fused step on rows [batch, inputs]; returns the loss. */
  float step(const float* x, const float* target, int batch);
  /** `epochs` fused epochs (kiln shuffles inside the kernel, seeded from `seed`); returns the
      last epoch's mean loss. */
  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed);
  /** Mean loss over every sample of `data`, in one call of the evaluation kernel. */
  float evaluate(const DataView<float>& data);
  /** Whether the step's kernel came from the disk cache (no clang run). */
  bool kernel_from_cache() const;

  struct State;

private:
  std::unique_ptr<State> s_;
};

} // namespace kiln::bench
