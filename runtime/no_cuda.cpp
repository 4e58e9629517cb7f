// The CUDA backend's entry points in a kiln built without it (KILN_ENABLE_CUDA=OFF or no NVRTC):
// each says so with kiln::DeviceError, as a machine without a GPU does.

#include "base/error.h"
#include "runtime/executable.h"
#include "runtime/program.h"

namespace kiln {

namespace {
[[noreturn]] void no_cuda(const char* what) {
  throw DeviceError(str("[cuda] no GPU: kiln was built without the CUDA backend "
                        "(KILN_ENABLE_CUDA=OFF) (needed by ",
                        what, ")"));
}
} // namespace

std::unique_ptr<runtime::Program> runtime::compile_cuda(const ir::Graph&, const CompileOptions&) {
  no_cuda("Executable::compile");
}

const codegen::CudaKernel& Executable::cuda_kernel() const {
  throw Error(
      str("[Executable] cuda_kernel(): compiled for ", device().str(), ", not a CUDA device"));
}

const codegen::CudaPlan& Executable::cuda_plan(int64_t) const {
  throw Error(
      str("[Executable] cuda_plan(): compiled for ", device().str(), ", not a CUDA device"));
}

} // namespace kiln
