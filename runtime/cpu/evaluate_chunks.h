#pragma once
// How the CPU runtime splits a fused evaluation (Executable::evaluate) over its thread pool: the
// data set in chunks of a fixed number of rows, each chunk one call of the generated evaluation
// on one worker with its own workspace and outputs, the chunks' sums added in chunk order. The
// chunk depends on the kernel alone, never on the threads, so the metrics are the same bits on
// any number of threads; a set of one chunk or less is one call, as without a pool.

#include <cstdint>

#include "codegen/schedule.h"

namespace kiln::runtime {

/**
 * Rows per chunk for the kernel of schedule `sc`: enough rows for about
 * codegen::kCpuParallelFlops of work (waking a thread costs more than less), by an estimate of
 * the work per row (products 2 x depth per element, other work a few flops per element), a
 * multiple of 256 rows.
 */
int64_t evaluate_chunk_rows(const codegen::Schedule& sc);

} // namespace kiln::runtime
