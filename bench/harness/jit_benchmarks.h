#pragma once
// JIT latency of kiln's own kernels: how long a user waits for a model to compile.

#include <string>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/**
 * Registers, for `spec` (W1's regression network in kiln_bench):
 *   <W>_compile-cold-step/kiln     the training step alone, empty disk cache
 *   <W>_compile-warm-step/kiln     the same, its object file in the cache (no clang)
 *   <W>_compile-cold-trainer/kiln  the kernels the Trainer compiles, side by side: the step
 *                                  with its fused epoch and batch, the evaluation with its
 *                                  fused evaluation, the prediction
 *   <W>_compile-warm-trainer/kiln  the same from the cache
 * and for W6, the physics-informed step (pinn_benchmarks.h; both terms, second derivatives):
 *   W6_compile-cold-step/kiln      the step alone, empty disk cache
 *   W6_compile-warm-step/kiln      the same from the cache
 * Each times the whole path: step graph (W6: from its built problem), passes, codegen, clang
 * (cold) or cache load, link.
 */
void register_jit_benchmarks(const MlpSpec& spec, const std::string& workload, int repetitions);

} // namespace kiln::bench
