#pragma once
// JIT latency of kiln's own kernels: how long a user waits for a model to compile.

#include <string>

#include "bench/peers/mlp_spec.h"

namespace kiln::bench {

/**
 * Registers, for `spec` (W1's regression network in kiln_bench):
 *   <W>_compile-cold-step/kiln     the training step alone, empty disk cache
 *   <W>_compile-warm-step/kiln     the same, its object file in the cache (no clang)
 *   <W>_compile-cold-trainer/kiln  the kernel the Trainer compiles: the step, its copy
 *                                  specialized for spec.max_batch and the fused epoch
 *   <W>_compile-warm-trainer/kiln  the same from the cache
 * Each times the whole path: step graph, passes, codegen, clang (cold) or cache load, link.
 */
void register_jit_benchmarks(const MlpSpec& spec, const std::string& workload, int repetitions);

} // namespace kiln::bench
