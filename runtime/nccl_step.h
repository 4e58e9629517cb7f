#pragma once
// The device half of a data-parallel step on GPUs, one rank per GPU: device memory for the rows a
// rank feeds its gradient kernel and for the flat buffer of gradients and scalars, NCCL over the
// ranks, and the one stream that the gradient kernel, ncclAllReduce and the update kernel are
// queued on, so the update waits for the sum without the host waiting in between. This header
// names no CUDA or NCCL type (runtime/cuda/nccl_step.cpp implements it).
//
//   kiln::NcclStep dev(comm, gradients, update);           // a collective: NCCL's setup
//   dev.enqueue(gradients, rows, gslots);                  // into the flat buffer
//   dev.allreduce_scaled(flat, n, share);                  // queued behind it
//   dev.enqueue(update, 1, uslots);                        // queued behind the sum

#include <cstddef>
#include <cstdint>
#include <memory>

#include "runtime/comm.h"
#include "runtime/executable.h"

namespace kiln {

/** NCCL and device memory for the split step of a data-parallel fit on CUDA devices. */
class NcclStep {
public:
  /**
   * Opens NCCL (libnccl.so.2, or $KILN_NCCL_LIBRARY) and joins the ranks of `comm` on the device
   * `gradients` and `update` were compiled for (rank 0 makes the ncclUniqueId and broadcasts it
   * over `comm`). The update's kernels move onto the gradients' stream. A collective. Throws
   * kiln::DeviceError "[nccl] ..." on every rank when a rank has no NCCL, or when an NCCL call
   * fails ("[nccl] ncclCommInitRank(...) failed: <NCCL's words>").
   */
  NcclStep(std::shared_ptr<Communicator> comm, Executable& gradients, Executable& update);
  ~NcclStep();
  NcclStep(const NcclStep&) = delete;
  NcclStep& operator=(const NcclStep&) = delete;

  /** `bytes` bytes of device memory, owned by this object: its device address. */
  void* alloc(size_t bytes);
  /** Copies host memory to device memory, after the work queued so far has read it. */
  void upload(void* device, const void* host, size_t bytes);
  /** Waits for the queued work, then copies device memory to host memory. */
  void download(void* host, const void* device, size_t bytes);
  /** Queues `exe`'s bare call (Executable::call; device addresses) on the step's stream. */
  void enqueue(Executable& exe, int64_t batch, void* const* slots);
  /**
   * Queues the sum over the ranks of `n` floats at device address `data`, in place, each rank's
   * values multiplied by its `scale` first (its share of the batch).
   */
  void allreduce_scaled(void* data, size_t n, float scale);

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

/**
 * The CUDA device of this rank in a data-parallel fit asked to run on `device`: one rank per GPU,
 * device (device.index + local rank) mod the device count, the local rank being the rank among
 * the ranks of this machine (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID or SLURM_LOCALID), else
 * the rank. Throws kiln::DeviceError when there is no GPU or no device `device`.
 */
Device rank_device(const Communicator& comm, Device device);

} // namespace kiln
