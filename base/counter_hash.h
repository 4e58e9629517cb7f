#pragma once
// Counter-based random numbers: a value is a hash of its coordinates (a layer's seed, the
// training step, the element's position), so any element can be drawn on its own, in any order,
// on any device, and the same coordinates always give the same value. Dropout's masks come from
// here; codegen renders the same functions into the CPU and CUDA preludes
// (codegen/counter_hash.h), so the interpreter, CPU kernels and CUDA kernels agree bit for bit.

#include <cstdint>

namespace kiln {

/**
 * PCG's output function as a hash of one 32-bit word: an LCG step, then the RXS-M-XS
 * permutation (O'Neill's PCG family; as recommended for GPU hashing by Jarzynski and Olano,
 * "Hash Functions for GPU Rendering", JCGT 9(3), 2020). A bijection on 32-bit words.
 */
constexpr uint32_t pcg_hash(uint32_t v) {
  const uint32_t state = v * 747796405u + 2891336453u;
  const uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

/** The key of one (seed, step) pair: every element of one step's mask hashes with it. */
constexpr uint32_t dropout_key(uint32_t seed, uint32_t step) {
  return pcg_hash(step + pcg_hash(seed));
}

/** Elements whose hash is below this are dropped: floor(p 2^32), for 0 <= p < 1. */
constexpr uint32_t dropout_threshold(double p) {
  return static_cast<uint32_t>(p * 4294967296.0);
}

/**
 * Whether element `index` survives dropout with probability p (threshold
 * dropout_threshold(p)). The index is hashed first, so the masks of two steps are not shifted
 * copies of one sequence.
 */
constexpr bool dropout_keeps(uint32_t key, uint32_t index, uint32_t threshold) {
  return pcg_hash(pcg_hash(index) + key) >= threshold;
}

} // namespace kiln
