#pragma once
// The CUDA backend's Program: a rendered CudaKernel compiled with NVRTC and loaded on one
// device, a device buffer for every slot, and the step's launch plan run on one stream (captured
// once per batch size and replayed as one CUDA graph launch when the driver has graphs). This
// header names no CUDA type.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/renderer.h"
#include "runtime/program.h"

namespace kiln::runtime {

class KernelCache; // runtime/kernel_cache.h

/** How to build a CudaProgram. */
struct CudaProgramOptions {
  /** Device ordinal. */
  int device = 0;
  /** Passes --use_fast_math to NVRTC (render the kernel with CudaOptions::fast_math too). */
  bool fast_math = false;
  /** The kernel was rendered with CudaOptions::tf32: the device must be sm_80 or newer. */
  bool tf32 = false;
  /** Look the binary up in, and store it to, `cache` (nullptr: the default cache). */
  bool use_cache = true;
  KernelCache* cache = nullptr;
  /** Names the program in NVRTC logs and dumps. */
  std::string name = "graph";
  /** The epoch the kernel was rendered with (its data inputs and metrics), if any. */
  std::optional<codegen::EpochSpec> epoch;
};

/** A CUDA module with its buffers, ready to run steps and epochs. Not copyable. */
class CudaProgram final : public Program {
public:
  /**
   * Compiles `kernel` for options.device (CUBIN for its architecture, PTX where NVRTC cannot
   * target it) and loads it; params start at zero. Throws kiln::DeviceError
   * "[cuda] no GPU: <reason> (needed by Executable::compile)" when there is no driver or device,
   * "[cuda] device <i> does not exist: ..." for a bad ordinal, "[cuda] tf32 ..." when TF32 tensor
   * cores are asked of a GPU older than sm_80, and kiln::CompileError when
   * NVRTC rejects the source.
   */
  CudaProgram(codegen::CudaKernel kernel, const CudaProgramOptions& options);
  ~CudaProgram() override;
  CudaProgram(const CudaProgram&) = delete;
  CudaProgram& operator=(const CudaProgram&) = delete;

  const codegen::CudaKernel& kernel() const;
  /** NVRTC's wall time (or the cache lookup's). */
  double nvrtc_ms() const;
  /** The device's name, e.g. "NVIDIA H100 80GB HBM3". */
  const std::string& device_name() const;

  /** Copies a param's value (slot `slot`, its full static size) from host memory to the device. */
  void write_param(size_t slot, const void* host) override;
  /** Copies a param's value from the device to host memory. */
  void read_param(size_t slot, void* host) const override;
  /** The device address of a param's buffer, as a pointer. */
  void* param_address(size_t slot) const override;
  /** Makes a param live at `device_address` (another program's param_address on this device). */
  void bind_param(size_t slot, void* device_address) override;

  /**
   * One step at batch size N: uploads the inputs from host[slot], runs the plan for N, and
   * downloads every output into host[slot] (other entries are ignored). Errors inside a
   * kernel surface here as kiln::DeviceError.
   */
  void run(int64_t N, const std::vector<void*>& host) override;
  /**
   * The bare call: `device_slots` holds a device address for every input, param and output
   * slot (scratch entries are ignored). Runs the plan for N (a graph replay when the addresses
   * are those of the previous call at this N) and waits for it.
   */
  void call(int64_t N, void* const* device_slots) override;
  /** call() without the wait: the plan is queued on the program's stream. */
  void enqueue(int64_t N, void* const* device_slots);
  /**
   * Queues this program's work on `other`'s stream from now on (same device), so the calls of
   * both run in the order they were queued, without the host waiting in between.
   */
  void share_stream(const CudaProgram& other);
  /** The stream the program queues its work on (a CUstream). */
  void* stream_handle() const;
  /**
   * An epoch over n resident samples: data[k] holds all n rows (host memory) of input
   * CudaProgramOptions::epoch->data[k]; the other inputs come from host[slot]. One launch when
   * the step has a fused epoch for this batch size, else a host loop of steps over the same
   * PCG32 shuffle. Returns each metric summed times its batch size, then n.
   */
  std::vector<double> run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                const std::vector<const void*>& data,
                                const std::vector<void*>& host) override;

  Device device() const override;
  const codegen::Schedule& schedule() const override;
  bool from_cache() const override;

  /** The plan that run(N) uses: the first of kernel().plans that serves N and fits the device. */
  const codegen::CudaPlan& plan_for(int64_t N) const;
  /** True when steps replay as CUDA graphs. */
  bool uses_graphs() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace kiln::runtime
