#pragma once
// The data-parallel epoch: every rank runs the same mini-batches as one process would (the same
// shuffle, seeded the same), each on its share of every batch's rows. A step is the fused
// gradient kernel into one flat buffer, one all-reduce of that buffer (gradients, loss and
// metrics together), then the fused update kernel, the same on every rank, so weights and
// optimizer state stay identical without being sent again. On the CPU the all-reduce is the
// communicator's (MPI), either after the gradient kernel or overlapped with it: the kernel
// (compiled with CompileOptions::gradient_ready_hook) reports each gradient as it is final and a
// nonblocking all-reduce of that gradient starts while the kernel computes the next. On CUDA
// devices it is NCCL's, queued on the kernels' stream between the two kernels
// (runtime/nccl_step.h).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "runtime/comm.h"
#include "runtime/executable.h"
#include "runtime/nccl_step.h"

namespace kiln {

/** One input of the resident data set: all n rows, row-major. */
struct DataColumn {
  std::string name;
  const void* data;
  size_t row_bytes;
};

/** The epoch of a split step (train::SplitStep) over the ranks of a communicator. */
class DataParallelEpoch {
public:
  /**
   * `gradients` is the compiled SplitStep::gradients graph; its scalar outputs other than the
   * gradients ("loss", "loss:<term>", metrics) are averaged with them. Throws kiln::Error where
   * an output is neither a float32 gradient nor a float32 scalar.
   */
  DataParallelEpoch(Executable gradients, std::shared_ptr<Communicator> comm);

  /**
   * Makes the gradient kernel read the params of `update` (the compiled SplitStep::update). On a
   * CUDA device it also sets up NCCL over the ranks (a collective; see NcclStep).
   */
  void bind(Executable& update);

  /**
   * Runs the epoch: batches of `batch` rows over the n rows of `data` (the permutation
   * kiln::Rng(seed) draws when `shuffle`, as the fused epoch's), rank r taking rows
   * [nb r / R, nb (r + 1) / R) of each; every batch's gradients and scalars are averaged over
   * its nb rows on every rank, then `update` runs with learning rate `lr`. Returns the scalar
   * outputs in output order (the loss first), averaged over the epoch weighted by batch size.
   * `overlap` (CPU, a gradient kernel compiled with the hook): each gradient's all-reduce starts
   * as the kernel reports it final; the same sums, bit for bit with two ranks.
   */
  std::vector<double> run(Executable& update, const std::vector<DataColumn>& data, int64_t n,
                          int64_t batch, bool shuffle, uint64_t seed, double lr,
                          bool overlap = false);

  /** Names of the averaged scalars, in the order run() returns them. */
  const std::vector<std::string>& scalars() const { return scalar_names_; }
  /**
   * Seconds spent in the all-reduce so far (part of every run's time); on a CUDA device, the
   * host's time to queue it (the device runs it behind the gradient kernel).
   */
  double allreduce_seconds() const { return allreduce_s_; }

private:
  Executable grad_;
  std::shared_ptr<Communicator> comm_;
  /** Gradients, then the scalars, as one buffer: the all-reduce sends it in one call. */
  std::vector<float> flat_;
  std::vector<std::string> scalar_names_;
  size_t scalar_offset_ = 0;
  /** Per slot of the gradient program: its offset in flat_ (outputs), or -1. */
  std::vector<ptrdiff_t> grad_offset_;
  /** Per slot of the gradient program: its rows of the current batch (data inputs). */
  std::vector<std::vector<std::byte>> rows_;
  double allreduce_s_ = 0;
  /** Gradient slots in the order the kernel reports them (every rank starts their sums so). */
  std::vector<int> ready_order_;
  struct Overlap;
  /** The gradient kernel's hook: the slot's gradient is final. */
  static void gradient_ready(void* overlap, int slot);
  /** One batch's gradients and scalars summed over the ranks, overlapped with the kernel. */
  void overlapped_step(int64_t rows, void* const* slots, float share);
  /** On a CUDA device: NCCL, and device copies of flat_, rows_, lr and the update's outputs. */
  std::unique_ptr<NcclStep> nccl_;
  void* device_flat_ = nullptr;
  void* device_lr_ = nullptr;
  std::vector<void*> device_rows_;
  std::vector<size_t> device_row_bytes_;
  std::vector<void*> device_outputs_;
};

/** The permutation of n rows that the fused epoch draws from kiln::Rng(seed). */
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed);

} // namespace kiln
