#pragma once
// The CPU target: one self-contained C++ translation unit per graph (no #include, so it compiles
// in milliseconds), with one extern "C" entry point that runs the whole schedule:
//
//   extern "C" void <name>(long long N, void* const* slots, void* workspace);
//
// N is the batch size; slots[i] points at the buffer of schedule.slots[i] (inputs, params,
// outputs; row-major, dtype of the slot); scratch buffers live in `workspace`, which must hold
// workspace_bytes(N) bytes aligned to 64.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/schedule.h"

namespace kiln::codegen {

/** Size of one scratch buffer: per_batch * N + fixed bytes (before 64-byte alignment). */
struct ScratchSize {
  int64_t per_batch = 0;
  int64_t fixed = 0;
};

/** What to render besides the step. */
struct CpuOptions {
  /** Outputs that replace params after every call (optimizer steps). */
  std::vector<Update> updates;
  /**
   * Also render `<name>_epoch`, which runs the step over a whole resident data set:
   *   void <name>_epoch(long long n, long long batch, int shuffle, unsigned long long seed,
   *                     void* const* data, void* const* slots, void* workspace, double* stats);
   * data[k] holds all n rows of input spec.data[k]; slots are the step's (data inputs are
   * ignored); stats[m] accumulates metric m times each batch size, stats[metrics] adds n.
   * The workspace needs epoch_workspace_bytes(n, batch) bytes.
   */
  std::optional<EpochSpec> epoch;
  /**
   * Also render `<name>_evaluate`, the metrics over a whole data set in one call (see
   * codegen/cpu/evaluate.h): spec.data are read in place, spec.metrics summed over blocks.
   */
  std::optional<EpochSpec> evaluate;
  /**
   * A batch size to specialize for: the step is rendered a second time with N fixed to it
   * (all loop bounds static, so clang unrolls and vectorizes them fully) and the entry points
   * use that copy whenever N matches. Skipped for large steps, where it would only double the
   * compile time.
   */
  std::optional<int64_t> batch_hint;
  /**
   * Split the step into up to this many translation units (CpuKernel::parts), each a run of
   * consecutive groups, so that they compile side by side on as many cores; a unit gets at
   * least ~80 lines, so small kernels stay whole. 1: one translation unit (ahead-of-time files).
   */
  int max_units = 1;
  /**
   * Threads of the runtime's pool (runtime/cpu/thread_pool.h) when the kernel is compiled. Above
   * 1, large products split their rows over it (codegen/cpu/parallel.h); at 1 they keep plain
   * loops, which run ~5% faster on one thread (W4's step), so a kernel compiled while the pool
   * has one thread never splits.
   */
  int threads = 1;
  /**
   * Report each "grad:" output as soon as it is final, through a hook the runtime sets
   * (codegen/cpu/gradient_ready.h; CpuKernel::ready_symbol).
   */
  bool gradient_ready = false;
};

/** A rendered CPU kernel. */
struct CpuKernel {
  /** The entry point's symbol: "kiln_" + a hash of the source, so equal kernels share it. */
  std::string name;
  /** The translation unit with the entry points, prelude included. */
  std::string source;
  /**
   * More translation units when the step is split (CpuOptions::max_units): unit i defines
   * extern "C" `<name>_u<i>`, which runs its groups and which `source` calls in order; the
   * batch_hint copy, whole, is `<name>_fixed` in a unit of its own. Compile them with `source`
   * into one module.
   */
  std::vector<std::string> parts;
  Schedule schedule;
  /** Scratch buffers in workspace order (the Scratch slots, in slot order). */
  std::vector<ScratchSize> scratch;

  /** The fused epoch's symbol ("" when not rendered) and its data inputs. */
  std::string epoch_name;
  std::vector<std::string> epoch_data;
  /**
   * The kernel's pointer to the runtime's thread pool (a `const kiln_pool_api*`, null until set;
   * see runtime/cpu/thread_pool.h), or "" when it has no product worth threads.
   */
  std::string pool_symbol;
  /**
   * With CpuOptions::gradient_ready: the kernel's pointer to the gradient-ready hook (a `const
   * kiln_ready_api*`, null until set; see codegen/cpu/gradient_ready.h), else "".
   */
  std::string ready_symbol;
  /** Rows per block when the step runs as row blocks (codegen/cpu/row_block.h), else 0. */
  int64_t row_block = 0;
  /**
   * Whether `source` is written for LLVM's vectorizer alone (runtime::CpuPasses::Kernel): the
   * loop over rows of a row-block step split in two (codegen/cpu/row_block_step.h). Its second
   * unit, like every other kernel, leaves more to clang's -O2.
   */
  bool vectorizer_only = false;
  /** The fused evaluation's symbol ("" when not rendered) and its rows per step call. */
  std::string evaluate_name;
  int64_t evaluate_block = 0;

  /** Workspace bytes the kernel needs for batch size N. */
  int64_t workspace_bytes(int64_t N) const;
  /** Workspace bytes of the fused epoch over n samples in batches of `batch`. */
  int64_t epoch_workspace_bytes(int64_t n, int64_t batch) const;
};

/** Renders `g` (optimized, verified) for the CPU. Pure. */
CpuKernel render_cpu(const ir::Graph& g, const CpuOptions& options = {});

/** The source every CPU kernel starts with: kiln's math functions and loop pragmas. */
const std::string& cpu_prelude();

/**
 * `source` (a kernel's translation unit) with only the prelude functions it calls, and what they
 * call: Clang parses and optimizes every function a unit defines, called or not. The JIT compiles
 * kernels through this; ahead-of-time files keep the whole prelude, once for all their kernels.
 */
std::string trim_prelude(const std::string& source);

} // namespace kiln::codegen
