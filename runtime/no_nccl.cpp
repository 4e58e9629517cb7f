// The data-parallel step on GPUs in a kiln built without NCCL's header or without the CUDA
// backend: every entry point says so with kiln::DeviceError, before any collective starts.

#include "base/error.h"
#include "runtime/nccl_step.h"

namespace kiln {

namespace {
[[noreturn]] void no_nccl() {
  throw DeviceError("[nccl] kiln was built without NCCL (without the CUDA backend, or CMake found "
                    "no nccl.h): data-parallel training on GPUs needs both at build time");
}
} // namespace

struct NcclStep::Impl {};

NcclStep::NcclStep(std::shared_ptr<Communicator>, Executable&, Executable&) {
  no_nccl();
}
NcclStep::~NcclStep() = default;
void* NcclStep::alloc(size_t) {
  no_nccl();
}
void NcclStep::upload(void*, const void*, size_t) {
  no_nccl();
}
void NcclStep::download(void*, const void*, size_t) {
  no_nccl();
}
void NcclStep::enqueue(Executable&, int64_t, void* const*) {
  no_nccl();
}
void NcclStep::allreduce_scaled(void*, size_t, float) {
  no_nccl();
}

Device rank_device(const Communicator&, Device) {
  no_nccl();
}

} // namespace kiln
