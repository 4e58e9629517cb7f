// A stand-in for libnccl.so.2, built only for the tests and opened by kiln through
// KILN_NCCL_LIBRARY: with the fake CUDA driver (device memory is host memory), the ranks of an
// `mpirun` job sum their "device" buffers with MPI, so kiln's NCCL path runs end to end on a
// machine without GPUs. Signatures come from nccl.h, so a mismatch with NCCL is a compile error.
//
// KILN_FAKE_NCCL_FAIL=<call> makes that call fail with ncclInternalError, to test kiln's errors.
// kiln_fake_nccl_all_reduces() counts the all-reduces, so a test can see that NCCL did the sum,
// and kiln_fake_nccl_stream_errors() the ones not on the stream of the kernels around them: with
// the fake driver ($KILN_CUDA_DRIVER) it records the stream of every kernel run, and the last
// kernel before a sum (the gradients) and the first after it (the update) must run on the
// stream the sum was queued on.

#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <dlfcn.h>
#include <mpi.h>
#include <nccl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct FakeComm {
  int rank = 0, size = 1;
};

int g_all_reduces = 0;
int g_next_op = ncclNumOps;
std::map<int, float> g_pre_mul; // ncclRedOp_t -> its scalar

int g_stream_checks = 0, g_stream_errors = 0;
// The all-reduce whose following kernel is still to be checked: the fake driver's run count when
// it was queued, and its stream.
int g_pending_run = -1;
void* g_pending_stream = nullptr;

struct FakeDriver {
  int (*runs)() = nullptr;
  void* (*run_stream)(int) = nullptr;
};

const FakeDriver& fake_driver() {
  static const FakeDriver d = [] {
    FakeDriver f;
    const char* path = std::getenv("KILN_CUDA_DRIVER");
    void* lib = path ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : nullptr;
    if (lib) {
      f.runs = reinterpret_cast<int (*)()>(dlsym(lib, "kiln_fake_cuda_runs"));
      f.run_stream = reinterpret_cast<void* (*)(int)>(dlsym(lib, "kiln_fake_cuda_run_stream"));
    }
    return f;
  }();
  return d;
}

void check_pending() {
  const FakeDriver& d = fake_driver();
  if (g_pending_run < 0 || !d.runs)
    return;
  ++g_stream_checks;
  if (d.run_stream(g_pending_run) != g_pending_stream)
    ++g_stream_errors;
  g_pending_run = -1;
}

void check_before(void* stream) {
  const FakeDriver& d = fake_driver();
  if (!d.runs)
    return;
  check_pending();
  ++g_stream_checks;
  if (d.runs() == 0 || d.run_stream(d.runs() - 1) != stream)
    ++g_stream_errors;
  g_pending_run = d.runs();
  g_pending_stream = stream;
}

constexpr const char* kInjected = "fake NCCL: failure injected by KILN_FAKE_NCCL_FAIL";

bool injected(const char* call) {
  const char* f = std::getenv("KILN_FAKE_NCCL_FAIL");
  return f != nullptr && std::strcmp(f, call) == 0;
}

bool mpi_ready() {
  int on = 0;
  MPI_Initialized(&on);
  return on != 0;
}

} // namespace

extern "C" {

int kiln_fake_nccl_all_reduces() {
  return g_all_reduces;
}

int kiln_fake_nccl_stream_checks() {
  check_pending();
  return g_stream_checks;
}

int kiln_fake_nccl_stream_errors() {
  check_pending();
  return g_stream_errors;
}

ncclResult_t ncclGetVersion(int* version) {
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
  case ncclSuccess:
    return "no error";
  case ncclInternalError:
    return kInjected;
  case ncclInvalidArgument:
    return "fake NCCL: invalid argument";
  case ncclInvalidUsage:
    return "fake NCCL: invalid usage";
  default:
    return "fake NCCL: unknown error";
  }
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (injected("ncclGetUniqueId"))
    return ncclInternalError;
  std::memset(id, 0, sizeof *id);
  const std::string text = "kiln fake nccl " + std::to_string(::getpid());
  std::memcpy(id->internal, text.data(), text.size());
  return ncclSuccess;
}

// Every rank must bring rank 0's id (kiln broadcasts it) and agree with MPI on ranks and size.
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (injected("ncclCommInitRank"))
    return ncclInternalError;
  if (!mpi_ready())
    return ncclInvalidUsage;
  int mpi_rank = 0, mpi_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  std::vector<char> ids(static_cast<size_t>(mpi_size) * sizeof id.internal);
  MPI_Allgather(id.internal, sizeof id.internal, MPI_BYTE, ids.data(), sizeof id.internal, MPI_BYTE,
                MPI_COMM_WORLD);
  bool same = id.internal[0] != 0;
  for (int r = 0; r < mpi_size; ++r)
    same = same &&
           std::memcmp(ids.data() + r * sizeof id.internal, id.internal, sizeof id.internal) == 0;
  if (!same || nranks != mpi_size || rank != mpi_rank)
    return ncclInvalidArgument;
  *comm = reinterpret_cast<ncclComm_t>(new FakeComm{rank, nranks});
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete reinterpret_cast<FakeComm*>(comm);
  return ncclSuccess;
}

ncclResult_t ncclRedOpCreatePreMulSum(ncclRedOp_t* op, void* scalar, ncclDataType_t type,
                                      ncclScalarResidence_t residence, ncclComm_t) {
  if (type != ncclFloat32 || residence != ncclScalarHostImmediate)
    return ncclInvalidArgument;
  const int id = g_next_op++;
  g_pre_mul[id] = *static_cast<const float*>(scalar);
  *op = static_cast<ncclRedOp_t>(id);
  return ncclSuccess;
}

ncclResult_t ncclRedOpDestroy(ncclRedOp_t op, ncclComm_t) {
  return g_pre_mul.erase(static_cast<int>(op)) == 1 ? ncclSuccess : ncclInvalidArgument;
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type,
                           ncclRedOp_t op, ncclComm_t, cudaStream_t stream) {
  if (injected("ncclAllReduce"))
    return ncclInternalError;
  if (type != ncclFloat32 || (op != ncclSum && g_pre_mul.count(static_cast<int>(op)) == 0))
    return ncclInvalidArgument;
  // The fake driver runs every launch at once, so the buffer already holds the kernel's output.
  check_before(stream);
  std::vector<float> mine(static_cast<const float*>(send), static_cast<const float*>(send) + count);
  if (op != ncclSum)
    for (float& v : mine)
      v *= g_pre_mul[static_cast<int>(op)];
  ++g_all_reduces;
  return MPI_Allreduce(mine.data(), recv, static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                       MPI_COMM_WORLD) == MPI_SUCCESS
             ? ncclSuccess
             : ncclSystemError;
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t type,
                           int root, ncclComm_t, cudaStream_t) {
  if (type != ncclUint8)
    return ncclInvalidArgument;
  if (send != recv)
    std::memcpy(recv, send, count);
  return MPI_Bcast(recv, static_cast<int>(count), MPI_BYTE, root, MPI_COMM_WORLD) == MPI_SUCCESS
             ? ncclSuccess
             : ncclSystemError;
}

} // extern "C"
