#pragma once
// The CUDA target: self-contained CUDA C++ (no #include, so NVRTC spends its time on the
// kernels themselves, some 20-100 ms each), rendered from the same Schedule and ExprEmitter as
// the CPU target, plus the host-side launch plans that run it.
//
// Every step kernel takes the same parameters, so one argument array serves a whole plan:
//
//   extern "C" __global__ void <kernel>(int N, T0* b0, T1* b1, ..., char* kiln_ws);
//
// N is the batch size; b<i> is the device buffer of schedule.slots[i] (inputs, params, outputs
// and scratch, row-major); kiln_ws is the plan's workspace (CudaPlan::workspace_bytes(N)).
// Indices are 32-bit: every buffer must hold fewer than 2^31 elements.
//
// A module holds up to three plans for the step (CudaKernel::plans), each its own translation
// unit, picked per batch size N (the first that serves N and fits the device):
// - SingleBlock (when the scratch of batch N fits 44 KiB of shared memory and the step is at
//   most ~2^20 multiply-adds; the course's networks up to batch ~200, a 64-wide MLP up to ~13):
//   the whole step in one block of one kernel, groups as block-wide loops separated by
//   __syncthreads() only where one reads what another wrote, every scratch buffer in shared
//   memory. With CudaOptions::epoch the same step also runs inside the fused epoch kernel.
// - Chunked (MLP-shaped steps, any N; see cuda_chunk_analysis.h): in the style of
//   tiny-cuda-nn's fully fused MLPs, one kernel runs every row-local group (forward layers,
//   loss gradient, backward layers) on chunks of 8-64 rows per block, with the chunk's
//   activations and the layer's weights in shared memory, and adds the chunk's contribution to
//   every weight and bias gradient (and the loss) to the block's own partial sums; one "wave"
//   kernel sums the partials over the blocks and applies the optimizer update. Groups that
//   depend on no row (step count, Adam's bias corrections) run first as per-group kernels.
//   So an MLP step is 4-5 launches, replayed as one CUDA graph.
// - PerGroup (every graph, any N): one kernel per group: grid-stride pointwise loops,
//   reductions with one thread per output (one block per output where the reduced extent is
//   the batch or large), 64x64 shared-memory tiled matmuls with the group's epilogue applied
//   per output element, then output copies and copy-backs.
// What falls back to per-group kernels: batches above the single-block limit when the chunked
// plan does not apply (a batch dim anywhere but in front, as after a transpose of [N, k]; a
// row-wise group reading a reduction over the batch, as batch norm would; an in-place update
// that the phases would reorder), and devices whose shared memory cannot hold a chunk.
// The fused epoch needs the single-block plan at the epoch's batch size; otherwise an epoch is
// a host loop of steps (each one graph launch) over the same PCG32 shuffle.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cpu/renderer.h"
#include "codegen/schedule.h"

namespace kiln::codegen {

/** An element count as a function of the batch size: fixed * N^batch_pow. */
struct Extent {
  int64_t fixed = 1;
  int batch_pow = 0;

  int64_t at(int64_t N) const;
  /** The element count of `s`. */
  static Extent of(const ir::Shape& s);
};

/** How one kernel is launched (1-D grid and block), as functions of the batch size N. */
struct CudaLaunch {
  /** The kernel's extern "C" name. */
  std::string kernel;
  /** Threads per block. */
  int block = 256;
  /** Blocks: the product over `grid` of ceil(extent(N) / per_block), at most max_blocks, at
   * least 1. */
  std::vector<std::pair<Extent, int64_t>> grid;
  int64_t max_blocks = 65535;
  /** Dynamic shared bytes: shared_fixed plus align16(extent(N) * bytes) for every term. */
  std::vector<std::pair<Extent, int64_t>> shared_terms;
  int64_t shared_fixed = 0;

  int64_t blocks(int64_t N) const;
  int64_t shared_bytes(int64_t N) const;
};

/** A sequence of launches that runs one step. */
struct CudaPlan {
  enum class Kind : uint8_t { PerGroup, SingleBlock, Chunked };
  Kind kind = Kind::PerGroup;
  /** The plan serves batch sizes up to max_batch (0: every batch size). */
  int64_t max_batch = 0;
  std::vector<CudaLaunch> launches;
  /** Scratch slots that live in device memory under this plan (the rest live in shared memory). */
  std::vector<int> device_scratch;
  /** kiln_ws: ws_block_bytes for every block of launches[ws_launch] (-1: no workspace). */
  int ws_launch = -1;
  int64_t ws_block_bytes = 0;
  /** What the plan fuses, for logs and reports. */
  std::string summary;
  /** The plan's own translation unit (prelude and its kernels, plus the fused epoch's). */
  std::string source;

  int64_t workspace_bytes(int64_t N) const;
};

/** Which step plans to render (tests pin one; PerGroup is always rendered as the fallback). */
enum class CudaPlanChoice : uint8_t { Auto, PerGroup, SingleBlock, Chunked };

/** What to render besides the step. */
struct CudaOptions {
  /** Outputs that replace params after every call (optimizer steps). */
  std::vector<Update> updates;
  /**
   * Also render the fused epoch (when the step has a SingleBlock plan): one single-block
   * launch that shuffles the resident data set with kiln's PCG32 (the CPU epoch's stream)
   * and runs the step on every mini-batch:
   *   <name>_epoch(int n, int batch, int shuffle, unsigned long long seed, <step slots>,
   *                const T* d0, ..., char* kiln_ews, double* kiln_stats)
   * d<k> holds all n rows of input spec.data[k]; kiln_ews needs epoch_workspace_bytes(n, batch);
   * kiln_stats[m] accumulates metric m times each batch size and kiln_stats[metrics] adds n.
   */
  std::optional<EpochSpec> epoch;
  /** SFU intrinsics for float exp/log/tanh/sigmoid/sin/cos/pow (compile with --use_fast_math). */
  bool fast_math = false;
  /**
   * The chunked plan's f32 row products (the layers of a fused MLP, forward and backward, at
   * least 8 deep and 16 wide) on tensor cores: inputs rounded to TF32 (a 10-bit mantissa, so
   * ~1e-3 relative error per product), sums in f32. Needs compute capability 8.0 or newer.
   * Weight gradients, the other plans and f64 are unchanged.
   */
  bool tf32 = false;
  CudaPlanChoice plans = CudaPlanChoice::Auto;
};

/** A rendered CUDA module. */
struct CudaKernel {
  /** Prefix of every kernel name: "kiln_" + a hash of the source. */
  std::string name;
  /** Every kernel of every plan in one translation unit (for dumps and ahead-of-time files). */
  std::string source;
  Schedule schedule;
  /** Step plans in order of preference; the last one (PerGroup) serves every batch size. */
  std::vector<CudaPlan> plans;
  /** Parameters (C type, name) of every step kernel, and of the epoch kernel. */
  std::vector<std::pair<std::string, std::string>> step_params, epoch_params;

  /** The fused epoch ("" when not rendered): one block of epoch_block threads. */
  std::string epoch_kernel;
  int epoch_block = 0;
  /** The largest batch the fused epoch takes, and its data inputs. */
  int64_t epoch_max_batch = 0;
  std::vector<std::string> epoch_data;

  /** The first plan that serves batch size N. */
  const CudaPlan& plan_for(int64_t N) const;
  /** Bytes of kiln_ews for n samples in batches of `batch`. */
  int64_t epoch_workspace_bytes(int64_t n, int64_t batch) const;
  /** Dynamic shared bytes of the epoch kernel for batches of `batch`. */
  int64_t epoch_shared_bytes(int64_t batch) const;
};

/**
 * Renders `g` (optimized, verified) for CUDA. Pure. Throws kiln::Error when an update or an
 * epoch input or metric names nothing in the graph.
 */
CudaKernel render_cuda(const ir::Graph& g, const CudaOptions& options = {});

/** The source every CUDA module starts with: kiln's device math, block reductions, PCG32. */
const std::string& cuda_prelude(bool fast_math = false, bool tensor_cores = false);

} // namespace kiln::codegen
