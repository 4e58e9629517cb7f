#pragma once
// NCCL, opened at run time like the CUDA driver (cuda_driver.h): kiln never links libnccl, so it
// builds, starts and passes its tests where NCCL is not installed, and only a data-parallel fit
// on GPUs asks for it. nccl.h supplies the types; the entry points are resolved with dlsym.

#include <nccl.h>

#include <memory>
#include <string>
#include <string_view>

#include "runtime/comm.h"
#include "runtime/cuda/cuda_device.h"

namespace kiln::runtime {

/** The NCCL calls kiln makes, named after the call in snake case; all required. */
struct NcclApi {
  decltype(&::ncclGetVersion) get_version = nullptr;
  decltype(&::ncclGetErrorString) get_error_string = nullptr;
  decltype(&::ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&::ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&::ncclCommDestroy) comm_destroy = nullptr;
  decltype(&::ncclAllReduce) all_reduce = nullptr;
  decltype(&::ncclBroadcast) broadcast = nullptr;
  decltype(&::ncclRedOpCreatePreMulSum) red_op_create_pre_mul_sum = nullptr;
  decltype(&::ncclRedOpDestroy) red_op_destroy = nullptr;
};

/**
 * The process's libnccl: $KILN_NCCL_LIBRARY (a path or soname) if set, else kLibraryName, opened
 * once (thread-safe) and never closed. Throws kiln::DeviceError "[nccl] cannot open ...: <why>;
 * install NCCL ..." when it is missing or lacks a call kiln needs (NCCL older than 2.11).
 */
const NcclApi& nccl();

/** The soname nccl() opens by default. */
inline constexpr const char* kNcclLibraryName = "libnccl.so.2";

/** Throws kiln::DeviceError "[nccl] <call> failed: <ncclGetErrorString>" unless ncclSuccess. */
void nccl_check(ncclResult_t result, std::string_view call);

/**
 * One NCCL communicator over the ranks of `host`, this rank on CUDA device `device`: rank 0 makes
 * the ncclUniqueId and broadcasts it over `host`, then every rank calls ncclCommInitRank. A
 * collective over `host`; a rank that cannot open NCCL makes every rank throw (the others do not
 * wait in ncclCommInitRank for it).
 */
class NcclComm {
public:
  NcclComm(Communicator& host, int device);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  /**
   * Queues on `stream` the sum over the ranks of `n` floats at device address `data`, in place,
   * each rank's values multiplied by its own `scale` first (ncclRedOpCreatePreMulSum).
   */
  void allreduce_scaled(CUdeviceptr data, size_t n, float scale, CUstream stream);
  /** Queues on `stream` a copy of `bytes` bytes at `data` from rank `root` to every rank. */
  void broadcast(CUdeviceptr data, size_t bytes, int root, CUstream stream);

private:
  PrimaryContext ctx_;
  ncclComm_t comm_ = nullptr;
};

} // namespace kiln::runtime
