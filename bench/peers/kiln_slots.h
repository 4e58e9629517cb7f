#pragma once
// The argument table of a compiled training step for the kiln peers (kiln_mlp, kiln_cnn), which
// call the kernel directly as a hand-written trainer would: params in the Executable's own
// buffers, the loss and the learning rate in this struct, other outputs in buffers of its own.

#include <cstdint>
#include <vector>

#include "runtime/executable.h"

namespace kiln::bench {

struct StepSlots {
  std::vector<void*> table;
  /** Where the inputs "y" and "c" go; set before each call. */
  size_t y = 0, c = 0;
  float lr = 0, loss = 0;
  /** Outputs other than the loss (updates not written in place). */
  std::vector<std::vector<float>> outputs;

  /**
   * Fills the table for `exe`'s kernel: every param its buffer, "loss" and "lr" these fields
   * (lr = `learning_rate`), other outputs buffers sized for `rows` rows. The struct must not
   * move afterwards (the table points into it).
   */
  void bind(Executable& exe, float learning_rate, int64_t rows);
};

} // namespace kiln::bench
