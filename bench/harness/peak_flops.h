#pragma once
// The machine's FP32 peak, measured by the harness itself so that W4's GFLOP/s can be read as a
// fraction of what this CPU (this VM, this clock) really delivers.

namespace kiln::bench {

/**
 * Runs a register-resident FMA loop (16 independent vector accumulators: enough to hide FMA
 * latency on two FMA ports) in each of `threads` threads for `rounds` rounds and returns the
 * flops done by all threads together (each FMA lane counts 2). Uses 512-bit vectors when the
 * CPU has AVX-512F, else 256-bit (AVX2 + FMA), else plain SSE arithmetic.
 */
double run_fma_loop(int threads, long rounds);

/** Flops one thread does per round of run_fma_loop (depends on the vector width in use). */
double fma_flops_per_round();

/** Peak FP32 FLOP/s with `threads` threads, the best of a few timed runs of ~`seconds`. */
double measure_peak_fp32(int threads, double seconds = 0.2);

} // namespace kiln::bench
