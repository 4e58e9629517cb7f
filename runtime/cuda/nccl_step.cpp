#include "runtime/nccl_step.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "base/error.h"
#include "runtime/cuda/cuda_program.h"
#include "runtime/cuda/nccl.h"

namespace kiln {

using runtime::CudaDriver;
using runtime::CudaProgram;

namespace {

CudaProgram& cuda_program(Executable& exe, const char* what) {
  auto* p = dynamic_cast<CudaProgram*>(&exe.program());
  if (!p)
    throw Error(str("[nccl] ", what, " is compiled for ", exe.device().str(),
                    "; NCCL steps run on CUDA devices"));
  return *p;
}

CUstream stream_of(const CudaProgram& p) {
  return static_cast<CUstream>(p.stream_handle());
}

} // namespace

struct NcclStep::Impl {
  std::shared_ptr<Communicator> host;
  int device = 0;
  runtime::PrimaryContext ctx;
  CudaProgram* gradients = nullptr;
  std::optional<runtime::NcclComm> comm;
  std::vector<runtime::DeviceBuffer> buffers;

  const runtime::CudaApi& api(const char* what) const { return CudaDriver::get().require(what); }
  void synchronize() const {
    ctx.make_current();
    CudaDriver::get().check(api("NcclStep").stream_synchronize(stream_of(*gradients)),
                            "cuStreamSynchronize");
  }
};

NcclStep::NcclStep(std::shared_ptr<Communicator> comm, Executable& gradients, Executable& update)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.host = std::move(comm);
  m.gradients = &cuda_program(gradients, "the gradient kernel");
  CudaProgram& u = cuda_program(update, "the update kernel");
  m.device = gradients.device().index;
  m.ctx = runtime::PrimaryContext(m.device, "NcclStep");
  if (update.device() != gradients.device())
    throw Error(str("[nccl] the update kernel runs on ", update.device().str(),
                    ", the gradient kernel on ", gradients.device().str()));
  u.share_stream(*m.gradients);
  m.comm.emplace(*m.host, m.device);
}

NcclStep::~NcclStep() = default;

void* NcclStep::alloc(size_t bytes) {
  impl_->buffers.emplace_back(std::max<size_t>(bytes, 1), impl_->device);
  return reinterpret_cast<void*>(impl_->buffers.back().get());
}

void NcclStep::upload(void* device, const void* host, size_t bytes) {
  if (bytes == 0)
    return;
  impl_->synchronize(); // the previous step's kernels may still read it
  CudaDriver::get().check(impl_->api("NcclStep::upload")
                              .memcpy_htod(reinterpret_cast<CUdeviceptr>(device), host, bytes),
                          str("cuMemcpyHtoD(", bytes, " bytes)"));
}

void NcclStep::download(void* host, const void* device, size_t bytes) {
  if (bytes == 0)
    return;
  impl_->synchronize();
  CudaDriver::get().check(impl_->api("NcclStep::download")
                              .memcpy_dtoh(host, reinterpret_cast<CUdeviceptr>(device), bytes),
                          str("cuMemcpyDtoH(", bytes, " bytes)"));
}

void NcclStep::enqueue(Executable& exe, int64_t batch, void* const* slots) {
  CudaProgram& p = cuda_program(exe, "the kernel");
  if (p.stream_handle() != impl_->gradients->stream_handle())
    p.share_stream(*impl_->gradients);
  p.enqueue(batch, slots);
}

void NcclStep::allreduce_scaled(void* data, size_t n, float scale) {
  impl_->comm->allreduce_scaled(reinterpret_cast<CUdeviceptr>(data), n, scale,
                                stream_of(*impl_->gradients));
}

namespace {

int local_rank(const Communicator& comm) {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (const char* v = std::getenv(var); v != nullptr && v[0] != '\0')
      return std::atoi(v);
  return comm.rank();
}

} // namespace

Device rank_device(const Communicator& comm, Device device) {
  const CudaDriver& d = CudaDriver::get();
  d.require("a data-parallel fit on CUDA");
  if (device.index < 0 || device.index >= d.device_count())
    throw DeviceError(str("[cuda] device ", device.index, " does not exist: ", d.device_count(),
                          " CUDA device(s) found"));
  return Device::cuda((device.index + local_rank(comm)) % d.device_count());
}

} // namespace kiln
