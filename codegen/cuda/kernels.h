#pragma once
// Internal to the CUDA renderer: the kernel families, each rendering CUDA source text and the
// launches that run it. Kernel names start with kNamePrefix, which render_cuda replaces with
// the module's content hash once the whole source is known.

#include <optional>
#include <string>

#include "codegen/cuda/renderer.h"

namespace kiln::codegen::cuda {

/** Placeholder for the module name in kernel names until the source is complete. */
inline constexpr const char* kNamePrefix = "KILN_MODULE";

/** `extern "C" __global__ void __launch_bounds__(block) <name>(<params>)` */
std::string kernel_signature(const std::string& name, const std::string& params, int block);

/**
 * One kernel per group, then the output copies and copy-backs: serves every graph and N.
 * texts[i] is the source of launches[i] (launches[g] runs group g).
 */
CudaPlan per_group_plan(const Schedule& sc, std::vector<std::string>& texts);

/** The tiled matmul kernel of MatMul group `group_index` (cuda_matmul.cpp). */
CudaLaunch matmul_kernel(const Schedule& sc, size_t group_index, std::string& source);

/**
 * The whole step in one block (cuda_fused.cpp): appends kiln_block_step (a device function) and
 * its kernel to `source`. nullopt when the step's fixed-size scratch does not fit in shared
 * memory or its fixed work is too large for one block.
 */
std::optional<CudaPlan> single_block_plan(const Schedule& sc, std::string& source);

/**
 * The fused epoch around kiln_block_step (cuda_fused.cpp), for batches up to `max_batch`.
 * Fills the kernel's epoch fields. Throws kiln::Error when the spec names no input or output.
 */
void epoch_kernel(CudaKernel& k, const EpochSpec& spec, int64_t max_batch, std::string& source);

/**
 * The chunked MLP plan (cuda_chunked.cpp), reusing `per_group`'s kernels (sources
 * `per_group_texts`) for the groups that depend on no row; appends only its own kernels to
 * `source`. nullopt when the step is not MLP-shaped (see cuda_chunk_analysis.h). With `tf32`,
 * its f32 row products run on tensor cores (CudaOptions::tf32).
 */
std::optional<CudaPlan> chunked_plan(const Schedule& sc, const CudaPlan& per_group,
                                     std::string& source, bool tf32 = false);

} // namespace kiln::codegen::cuda
