#pragma once
// The Trainer's checkpoints: what a file must hold for one network and optimizer, checked in
// full before anything is applied, so a load that throws leaves the trainer as it was.
//
// Tensors are named and shaped as PyTorch names and shapes them ("0.weight" [out, in],
// "0.bias" [out]), so a torch state_dict saved with safetensors is a file of weights; the
// optimizer state follows as "<param>.<state>" (PyTorch's state names, e.g. "0.weight.exp_avg")
// and the scalar "step", with the epoch count in the metadata.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/safetensors.h"
#include "runtime/matrix.h"

namespace kiln::detail {

/** One tensor of a checkpoint: its name and its dims as the graph declares them. */
struct TensorSlot {
  std::string name;
  std::vector<int64_t> dims;
};

/** What a checkpoint holds for a network: its parameters, then the optimizer's state. */
struct CheckpointLayout {
  std::vector<TensorSlot> params;
  std::vector<TensorSlot> state;
};

/** The checked contents of a checkpoint, as Executable::set_param takes them. */
struct CheckpointValues {
  std::vector<std::pair<std::string, MatrixRM>> tensors;
  /** From the metadata; nullopt when the file does not say (or only weights were read). */
  std::optional<int> epochs_done;
};

/** How the trainer holds a tensor of `dims`: [d0, rest], a vector as a column, a scalar 1x1. */
std::pair<int64_t, int64_t> matrix_dims(const std::vector<int64_t>& dims);

/**
 * Checks `file` (read from `path`) against `layout` and returns its values. With
 * `weights_only`, the parameters must be there and the optimizer state may be (it is checked
 * but not returned); otherwise both must be. Throws kiln::DataError
 * "[checkpoint] <path>: <what>" for a missing tensor, a tensor the network does not have, a
 * dtype other than f32, a shape other than the declared one (naming both), a NaN or Inf, or an
 * epochs_done that is not a whole number in [0, 2^31).
 */
CheckpointValues check_checkpoint(const Safetensors& file, const std::string& path,
                                  const CheckpointLayout& layout, bool weights_only);

/** The epoch count of the metadata text: digits only, below 2^31; nullopt otherwise. */
std::optional<int> parse_epochs_done(const std::string& text);

/** `m` (a tensor in the trainer's matrix form) as an f32 tensor of `dims`. */
HostTensor to_tensor(const MatrixRM& m, const std::vector<int64_t>& dims);

} // namespace kiln::detail
