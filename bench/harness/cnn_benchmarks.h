#pragma once
// W5, the course's CNN (bench/peers/cnn_spec.h): one training step at batch 32 per peer (kiln,
// and libtorch when the harness is built with it), side by side in one run.

namespace kiln::bench {

/**
 * Registers W5_step/<peer>/threads:<n> for n = 1, 2: one training step (seconds per step) with a
 * "flops" rate counter (CnnSpec::step_flops), so results_table.py reports the share of the
 * measured FP32 peak. Every peer starts from the same parameters and reads the same images.
 */
void register_cnn_benchmarks(int repetitions);

} // namespace kiln::bench
