#pragma once
// The fused epoch of a CPU kernel: the whole mini-batch loop (shuffle, gather, step, metrics) in
// one call into generated code, over a data set resident in memory.

#include <cstddef>
#include <string>

#include "codegen/code_writer.h"
#include "codegen/cpu/renderer.h"

namespace kiln::codegen {

/**
 * Emits, after a call of the step on `nb` rows, stats[m] += metric m * nb for every metric of
 * `spec` (the fused epoch's and the fused evaluation's shared tail); each is a scalar output
 * (metric_slot, whose errors name `op` and `graph`).
 */
void emit_metric_sums(CodeWriter& w, const Schedule& sc, const EpochSpec& spec, const char* op,
                      const char* graph);

/**
 * The source of `<k.epoch_name>`: shuffles the resident data set with kiln's PCG32 (the same
 * stream as kiln::Rng(seed), so the host can reproduce it), then runs the step over every
 * mini-batch, summing each metric times the batch size into stats:
 *   void <name>(long long n, long long batch, int shuffle, unsigned long long seed,
 *               void* const* data, void* const* slots, void* workspace, double* stats);
 * Uses kiln_run, kiln_step_workspace, kiln_align64 and the kiln_pcg32 functions.
 */
std::string epoch_function(const CpuKernel& k, const EpochSpec& spec);

} // namespace kiln::codegen
