#pragma once
// Turns workloads x peers x thread counts into Google Benchmark registrations.

#include <memory>
#include <vector>

#include "bench/harness/peer.h"
#include "bench/harness/workloads.h"

namespace kiln::bench {

/**
 * Registers, for each workload, peer and thread count:
 *   <W>_step/<peer>[/threads:<n>]  one training step, seconds per step; "flops" counter (a rate)
 *                                  when the workload reports flops
 *   <W>_<run_name>/<peer>          one whole run (every model of workload.runs trained from
 *                                  its init for workload.epochs epochs), seconds per run
 * The "/threads:<n>" part appears only for workloads measured at several thread counts. Every
 * benchmark uses wall-clock time and reports the aggregates (median, mean, stddev, cv) of
 * `repetitions` repetitions; a peer with slow_runs times a grid (more than one model) once.
 */
void register_workload_benchmarks(const std::vector<std::shared_ptr<const Workload>>& workloads,
                                  const std::vector<Peer>& peers, int repetitions);

/** Registers peak_fp32/threads:1 and peak_fp32/threads:2: the FMA loop of peak_flops.h with a
 *  "flops" rate counter. */
void register_peak_benchmarks(int repetitions);

} // namespace kiln::bench
