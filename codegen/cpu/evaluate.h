#pragma once
// The fused evaluation of a CPU kernel: metrics (loss, accuracy) over a whole data set in one
// call into generated code, in blocks of rows read in place.

#include <cstdint>
#include <string>

#include "codegen/cpu/renderer.h"

namespace kiln::codegen {

/**
 * Rows per call of the step inside the fused evaluation: every row at once for a row-block
 * step (it walks its own blocks, in registers), else blocks that keep its workspace in L2.
 */
int64_t evaluate_block(const CpuKernel& k);

/**
 * The source of `<k.name>_evaluate` (k.evaluate_name), which runs the step of `k` over n rows:
 *   void <name>_evaluate(long long n, void* const* data, void* const* slots, void* workspace,
 *                        double* stats);
 * data[d] holds all n rows of input spec.data[d], read in place block by block; other inputs come
 * from slots; stats[m] accumulates metric m times each block's rows, stats[metrics] adds n. The
 * workspace needs k.workspace_bytes(min(n, evaluate_block(k))) bytes. Uses kiln_run.
 */
std::string evaluate_function(const CpuKernel& k, const EpochSpec& spec);

} // namespace kiln::codegen
