#pragma once
// The training loop of the course, compiled. fit() builds forward + loss + backward + update
// as one graph, compiles it once (with a fused epoch that shuffles and runs every mini-batch in
// generated code) and calls it once per epoch.
//
//   kiln::nn::Sequential net{kiln::nn::Linear(1, 14), kiln::nn::Tanh(), ...};
//   kiln::Trainer trainer(net, kiln::Loss::mse(), std::make_shared<kiln::optim::Adam>(1e-3));
//   kiln::History h = trainer.fit(train, &val, {.epochs = 20, .batch_size = 5});

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/nn.h"
#include "io/dataset.h"
#include "runtime/comm.h"
#include "runtime/executable.h"
#include "train/loss.h"
#include "train/optim.h"

namespace kiln {

/** One epoch's numbers. NaN where a value was not computed (no validation set, regression). */
struct EpochStats {
  int epoch = 0;
  /** Mean of the mini-batch losses seen while training (the weights moved during it). */
  double running_loss = NAN;
  double running_acc = NAN;
  /** Loss and accuracy over the whole training and validation sets after the epoch. */
  double train_loss = NAN, train_acc = NAN;
  double val_loss = NAN, val_acc = NAN;
  double lr = NAN;
  double seconds = 0;
  /** A problem's loss terms by name, where it has several (train::Problem's terms). */
  std::vector<std::pair<std::string, double>> terms;
};

/** What fit() returns. */
struct History {
  /**
   * First the network as it was before this fit's first epoch (as the course's notebooks record
   * it: epoch 0, the untrained network, on a first fit; no running loss), then one entry per
   * epoch trained.
   */
  std::vector<EpochStats> epochs;
  /** Seconds spent training: the epochs' steps only (no compiling, no evaluation). */
  double train_time_s = 0;
  /** Seconds spent evaluating the training and validation sets after each epoch. */
  double eval_time_s = 0;
  /** Seconds spent compiling (once, before the first epoch; ~0 when the kernel cache is warm). */
  double compile_time_s = 0;
  /**
   * Seconds of train_time_s spent in the all-reduce (data-parallel runs; 0 otherwise); on GPUs
   * the host's time to queue it.
   */
  double allreduce_time_s = 0;
  /** True when early_stop ended training before the last epoch. */
  bool stopped_early = false;
};

/** Options of fit(). */
struct FitOptions {
  int epochs = 20;
  int batch_size = 5;
  bool shuffle = true;
  /** Seeds the weights (first fit only) and every epoch's shuffle. */
  uint64_t seed = 0;
  optim::Schedule schedule = optim::Schedule::constant();
  /** Adds the regularizer R(theta) = weight_decay / 2 * sum ||theta||^2 to the loss. */
  double weight_decay = 0.0;
  /** Evaluate the loss over the whole training set after each epoch (costs a pass). */
  bool eval_train = true;
  /** A progress bar on stderr; drawn only when stderr is a terminal. */
  bool progress = true;
  /** Prints the per-epoch table (trainer/epoch_table.h) on stdout, a row as each epoch ends. */
  bool verbose = false;
  /**
   * Per-epoch log (epoch, losses, accuracies, lr, seconds) as CSV, a row per History entry (the
   * first, epoch 0, is the network before training). A fit that starts from epoch 0 writes it
   * anew; one that goes on (a later fit, or after load()) keeps the lines of the epochs done so
   * far and appends.
   */
  std::string csv_log;
  /** Saves parameters and optimizer state after every epoch (atomically); "" for none. */
  std::string checkpoint;
  /**
   * Train on data that holds NaN or Inf. Off, fit() checks x and y of the training and
   * validation sets first and throws kiln::DataError naming the set and the entry.
   */
  bool allow_non_finite = false;
  /** Called after each epoch; returning true stops training. */
  std::function<bool(const EpochStats&)> early_stop;
  /** Run each epoch as one call into generated code (off: one call per mini-batch). */
  bool fused_epoch = true;
  /**
   * Where the first fit() compiles the network (later fits must ask for the same device).
   * Device::cuda(i) keeps weights and optimizer state on the GPU and runs each epoch as one
   * launch where the step fits one block.
   */
  Device device = Device::cpu();
  /** CUDA: the training step's layer products on TF32 tensor cores (CompileOptions::tf32). */
  bool tf32 = false;
  /**
   * Data-parallel training over the ranks of `comm` (e.g. kiln::mpi_world() under `mpirun -np
   * 4`) when it has more than one; nullptr or one rank: this process alone. Every rank calls
   * fit() with the same network, data set and options (checked: a kiln::DataError names what
   * differs), and every rank holds the whole data set. Each epoch shuffles as one process would
   * and splits every batch of batch_size rows over the ranks; a step is the gradient kernel,
   * an all-reduce, then the update kernel (fused_epoch does not apply). The first fit takes its
   * weights from rank 0; weights and optimizer state then stay the same on every rank. Every
   * rank checks the data; rank 0 alone draws the progress bar, prints the verbose table and
   * writes csv_log and checkpoint; early_stop runs on every rank and rank 0's answer decides.
   * On Device::cuda(i), one rank per GPU: each rank runs on device (i + its local rank) mod the
   * device count, and NCCL (opened at run time) sums the gradients on the kernels' stream.
   */
  std::shared_ptr<Communicator> comm;
  /**
   * Data-parallel on the CPU: start each gradient's all-reduce (MPI_Iallreduce) as soon as the
   * gradient kernel has computed it, while it computes the others, instead of one all-reduce
   * after the kernel. The same sums (bit for bit with two ranks). A step that runs as row
   * blocks (a small network) finishes every gradient at its end: nothing to overlap there.
   * Ignored by one process and on CUDA devices.
   */
  bool overlap_allreduce = false;
};

/** Loss (and accuracy for classification) over a data set. */
struct Metrics {
  double loss = NAN;
  double accuracy = NAN;
};

/** Trains one network with one loss and one optimizer. */
class Trainer {
public:
  Trainer(nn::Layer net, Loss loss, std::shared_ptr<optim::Optimizer> optimizer);
  ~Trainer();
  Trainer(Trainer&&) noexcept;

  /**
   * Trains on `train` (validating on `val` when given) and returns the per-epoch history.
   * The first call compiles and initializes the weights from options.seed; later calls go on
   * from the current weights and optimizer state. Before any kernel runs, both data sets are
   * checked (kiln::DataError "[fit] training set: ..." or "validation set"): rows of x, y and
   * labels agree, columns match the network, labels are in [0, classes), and x and y hold no
   * NaN or Inf (unless options.allow_non_finite). A NaN or Inf loss stops training with a
   * kiln::TrainingError; the weights go back to the end of the last good epoch, and the last
   * good checkpoint stays on disk.
   */
  History fit(const data::Dataset& train, const data::Dataset* val, const FitOptions& options = {});

  /** Loss and accuracy over `data`. */
  Metrics evaluate(const data::Dataset& data);
  /** The network's outputs for the rows of `x`. */
  MatrixRM predict(const MatrixRM& x);

  /**
   * Saves parameters, optimizer state and the epoch count to a safetensors file (atomic). The
   * parameters are named and shaped as PyTorch's ("0.weight" [out, in], "0.bias" [out]); the
   * optimizer state is "<param>.<state>" (e.g. "0.weight.exp_avg") and the scalar "step".
   */
  void save(const std::string& path) const;
  /**
   * Loads what save() wrote: parameters, optimizer state and the epoch count, to resume
   * training. Everything is checked before anything changes, so a load that throws
   * (kiln::DataError "[checkpoint] <path>: ...") leaves the trainer as it was: every tensor
   * must be there, f32, of exactly the network's shape and finite; no other tensor may be;
   * epochs_done must be a whole number. Before the first fit() the values wait for it.
   * A checkpoint does not depend on the number of ranks that wrote it; in a data-parallel fit,
   * rank 0's loaded values win.
   */
  void load(const std::string& path);
  /**
   * Loads the parameters only, e.g. from a PyTorch state_dict saved with safetensors
   * (safetensors.torch.save_file(model.state_dict(), path)) of the same architecture. The
   * optimizer state and the epoch count stay as they are; the file may hold kiln's optimizer
   * state too (it is checked, not used). Checked as load() checks.
   */
  void load_weights(const std::string& path);

  /**
   * The current values of a parameter ("0.weight", ...): a weight as [out, in], a bias as a
   * column [out, 1].
   */
  MatrixRM param(const std::string& name) const;
  /** Names of the network's parameters, in order. */
  std::vector<std::string> param_names() const;
  /** Epochs trained so far (across fit() calls and loads). */
  int epochs_done() const;

  struct State;

private:
  std::unique_ptr<State> s_;
};

} // namespace kiln
