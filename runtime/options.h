#pragma once
// Where a graph runs and how it is compiled: the options every backend reads.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/renderer.h"
#include "codegen/schedule.h"

namespace kiln {

namespace runtime {
class KernelCache;
} // namespace runtime

/** Where an Executable runs. */
struct Device {
  enum class Kind : uint8_t { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  /** CUDA device ordinal (0 for the CPU). */
  int index = 0;

  /** The host CPU, through the in-process Clang JIT. */
  static Device cpu() { return {}; }
  /** CUDA device `i`, through NVRTC and the driver API opened at run time. */
  static Device cuda(int i = 0) { return {Kind::Cuda, i}; }
  bool is_cuda() const { return kind == Kind::Cuda; }
  bool operator==(const Device&) const = default;
  /** "cpu" or "cuda:<i>". */
  std::string str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }
};

/** Options of Executable::compile. */
struct CompileOptions {
  /** Run ir::optimize first (off only to test codegen on a graph as it is). */
  bool optimize = true;
  /** Name for logs and dumped sources. */
  std::string name = "graph";
  /** Disk cache of compiled kernels; nullptr: the default cache (KILN_CACHE_DIR, ...). */
  runtime::KernelCache* cache = nullptr;
  /** Skip the disk cache entirely. */
  bool no_cache = false;
  /** Outputs that replace params after every call (an optimizer step's new weights). */
  std::vector<codegen::Update> updates;
  /** Also compile the fused epoch over these data inputs (see run_epoch). */
  std::optional<codegen::EpochSpec> epoch;
  /**
   * Also compile the fused evaluation of these metrics over these data inputs (see
   * Executable::evaluate): a whole data set in one call, read in place.
   */
  std::optional<codegen::EpochSpec> evaluate;
  /**
   * The batch size most calls will use (e.g. the training batch): the CPU kernel gets a copy of
   * the step specialized for it (static loop bounds), used whenever N equals it.
   */
  std::optional<int64_t> batch_hint;
  /**
   * CPU: translation units a large step is split into, compiled side by side (see
   * codegen::CpuOptions::max_units). 0: $KILN_CPU_UNITS if set, else one per core, at most 4.
   */
  int cpu_units = 0;
  /**
   * Where to run. Device::cuda(i) renders CUDA C++ from the same schedule, compiles it with
   * NVRTC and keeps params, outputs and scratch in device memory; compile() throws
   * kiln::DeviceError "[cuda] no GPU: <the driver's reason> ..." where there is none.
   */
  Device device = Device::cpu();
  /** CUDA: approximate float exp/log/tanh/sigmoid/sin/cos/pow (SFU intrinsics, --use_fast_math). */
  bool fast_math = false;
  /**
   * CUDA: the fused MLP plan's layer products on tensor cores in TF32 (inputs rounded to a
   * 10-bit mantissa, f32 sums; see codegen::CudaOptions::tf32). Needs compute capability 8.0
   * or newer: compile() throws kiln::DeviceError on older GPUs. Ignored on the CPU.
   */
  bool tf32 = false;
  /**
   * CPU: the kernel reports each "grad:" output as soon as it is final, through the hook set
   * with runtime::Program::set_gradient_ready (a data-parallel step starts its all-reduce
   * there while the kernel computes the rest of the backward pass).
   */
  bool gradient_ready_hook = false;
  /** CUDA: restrict the step's launch plans (for tests; see codegen/cuda/renderer.h). */
  codegen::CudaPlanChoice cuda_plans = codegen::CudaPlanChoice::Auto;
};

} // namespace kiln
