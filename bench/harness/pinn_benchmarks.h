#pragma once
// W6, the physics-informed step (issue 14): kiln's fused step for the heat equation's residual,
// with and without a boundary term (its compile: W6_compile-*-step/kiln, jit_benchmarks.h).
// bench/pinn/run.sh measures the JAX and
// PyTorch peers of the same step (bench/pinn/heat_peer.py) side by side.

namespace kiln::runtime {
class KernelCache;
}

namespace kiln::bench {

/**
 * Registers, for the heat problem u_t - u_xx = f on [-1, 1] x [0, 10] (the course's u =
 * (e^(1-x^2) - 1)(t+1)^(-1/2)), a 2-32-32-32-1 tanh network and Adam:
 *   W6_step/kiln           the residual at 256 interior points: forward with u_t and u_xx by
 *                          forward mode, backward, update; "flops" counter: the products' FLOPs
 *   W6_step-boundary/kiln  u = 0 at 64 boundary points alone
 *   W6_step-both/kiln      both terms in one step (point sets of 256 and 64 rows)
 */
void register_pinn_benchmarks(int repetitions);

/** Compiles the W6 step with both terms; returns whether it came from the cache. */
bool compile_w6_step(runtime::KernelCache* cache);

} // namespace kiln::bench
