#pragma once
// The backend interface: a graph compiled for one device. Executable owns one and is the same
// for every device; a backend is a codegen target (codegen/<backend>/) plus a Program
// (runtime/<backend>/) and its entry in Executable::compile, and no op knows about it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "codegen/schedule.h"
#include "ir/node.h"
#include "runtime/options.h"

namespace kiln::runtime {

/**
 * What a kernel compiled with CompileOptions::gradient_ready_hook calls as each gradient output
 * is final: ready(context, slot), on the thread that runs the kernel, before the kernel goes on
 * (codegen/cpu/gradient_ready.h declares the same layout for generated code).
 */
struct GradientReadyHook {
  void (*ready)(void* context, int slot);
  void* context;
};

/**
 * A compiled schedule with its parameters and working memory. Slot indices are those of
 * schedule().slots. "Host" memory is the caller's; "native" addresses are where the backend
 * keeps its buffers (host memory on the CPU, device memory on a GPU). Not copyable.
 */
class Program {
public:
  virtual ~Program() = default;

  /** The device it runs on. */
  virtual Device device() const = 0;
  /** The schedule it runs: slots in argument order. */
  virtual const codegen::Schedule& schedule() const = 0;
  /** True when the compiled code came from the disk cache (no compiler ran). */
  virtual bool from_cache() const = 0;

  /**
   * One step at batch size N: host[s] is host memory for every input slot s (read, N rows) and
   * every output slot (written, sized for N); other entries are ignored.
   */
  virtual void run(int64_t N, const std::vector<void*>& host) = 0;
  /**
   * The bare step: native[s] is a native address for every input, param and output slot
   * (scratch entries are ignored). No checks.
   */
  virtual void call(int64_t N, void* const* native) = 0;
  /**
   * The fused epoch (CompileOptions::epoch) over n samples held in host memory: data[k] holds
   * all n rows of input epoch->data[k]; other inputs come from host[s], and the step's outputs
   * of the last batch land in host[s]. Shuffles with kiln::Rng(seed) when `shuffle`. Returns,
   * for every metric, its values times each batch's size summed over the batches, then n.
   */
  virtual std::vector<double> run_epoch(int64_t n, int64_t batch, bool shuffle, uint64_t seed,
                                        const std::vector<const void*>& data,
                                        const std::vector<void*>& host) = 0;

  /**
   * The fused evaluation (CompileOptions::evaluate) over n samples held in host memory: data[k]
   * holds all n rows of input evaluate->data[k]; other inputs come from host[s]. Returns, for
   * every metric, its values times each block's rows summed over the blocks, then n; nullopt
   * where the backend has no fused evaluation (Executable then runs the step block by block).
   */
  virtual std::optional<std::vector<double>>
  run_evaluate(int64_t n, const std::vector<const void*>& data, const std::vector<void*>& host) {
    (void)n, (void)data, (void)host;
    return std::nullopt;
  }

  /** Copies a param's whole value between host memory and its native buffer. */
  virtual void write_param(size_t slot, const void* host) = 0;
  virtual void read_param(size_t slot, void* host) const = 0;
  /** The native address of a param's buffer. */
  virtual void* param_address(size_t slot) const = 0;
  /** Makes a param live at `native` (e.g. another program's param_address on this device). */
  virtual void bind_param(size_t slot, void* native) = 0;
  /**
   * Where a kernel compiled with CompileOptions::gradient_ready_hook reports its gradients from
   * now on (nullptr: nowhere); `hook` must outlive the calls. Each program has its own pointer
   * (a JIT module of its own). Throws
   * kiln::Error when the program was compiled without the option or on a device that has none.
   */
  virtual void set_gradient_ready(const GradientReadyHook* hook);
};

/**
 * Renders the optimized graph `g` for the host CPU and compiles it in-process with Clang
 * (runtime/cpu/cpu_program.cpp). Throws kiln::CompileError when clang rejects the source.
 */
std::unique_ptr<Program> compile_cpu(const ir::Graph& g, const CompileOptions& options);
/**
 * Renders `g` as CUDA C++, compiles it with NVRTC and loads it on options.device
 * (runtime/cuda/cuda_program.cpp); throws kiln::DeviceError where kiln has no CUDA backend or
 * there is no GPU.
 */
std::unique_ptr<Program> compile_cuda(const ir::Graph& g, const CompileOptions& options);

} // namespace kiln::runtime
