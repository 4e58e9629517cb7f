#pragma once
// Runs kiln's generated CUDA kernels on the CPU, so that the CUDA renderer, its launch plans
// and the CUDA Executable are checked against the interpreter on machines without a GPU.
//
// The module's CUDA source is compiled by the CPU JIT behind a small header that turns the CUDA
// dialect it uses into C++ (__global__, __shared__ as static storage, threadIdx, ...). A launch
// runs the blocks one after another; the threads of a block are fibers on one OS thread, and
// __syncthreads() switches to the next fiber, so a block's threads meet at every barrier as on
// a GPU. Dynamic shared memory starts filled with 0xff bytes (NaN floats), so reading shared
// memory before writing it shows up in the results.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/cuda/renderer.h"

namespace kiln::test {

/** The kernels of one CUDA source, compiled for the CPU. */
class CudaEmulator {
public:
  using Params = std::vector<std::pair<std::string, std::string>>;

  /**
   * Compiles `cuda_source` for the CPU with a host entry point for each of `kernels` (name and
   * parameters as in CudaKernel::step_params). Throws kiln::CompileError when clang rejects it.
   */
  CudaEmulator(const std::string& cuda_source,
               const std::vector<std::pair<std::string, Params>>& kernels);
  ~CudaEmulator();

  /** Runs kernel `name`: `args` holds one pointer per parameter, to its value. */
  void launch(const std::string& name, unsigned grid, unsigned block, unsigned shared,
              void** args) const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/**
 * Compiles every kernel of `k` for the CPU and registers it with the fake driver loaded in this
 * process (kiln_fake_cuda_register), so Executables built from `k` run end to end on the fake.
 * The emulators live until the process ends.
 */
void emulate_on_fake_driver(const codegen::CudaKernel& k, void* fake_library);

/**
 * Makes the fake driver loaded in this process emulate any kiln kernel whose source NVRTC
 * dumped into `dump_dir` (KILN_DUMP_DIR): at the kernel's first launch the resolver finds the
 * source that defines it and emulates all of its kernels. For Executables built out of sight
 * (inside a Trainer).
 */
void emulate_dumped_sources(void* fake_library, const std::string& dump_dir);

} // namespace kiln::test
