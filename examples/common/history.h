#pragma once
// What the examples do with a training History: the loss curves as a PNG, and the final numbers
// for the result line (also for --epochs 0, where they are the untrained network's).

#include <string>
#include <vector>

#include "plot/plot.h"
#include "trainer/trainer.h"

namespace kiln::examples {

/**
 * The last epoch's numbers; when no epoch ran, the untrained network's (the history's epoch 0,
 * as the notebooks print before training).
 */
inline EpochStats final_stats(const History& h) {
  return h.epochs.back();
}

/**
 * Writes the training and validation loss per epoch, from epoch 0, to `path` (log scale, as the
 * notebooks plot it). Returns false, and writes nothing, when no epoch ran.
 */
inline bool plot_loss_curves(const std::string& path, const std::string& title, const History& h) {
  if (h.epochs.size() < 2)
    return false;
  std::vector<double> epochs, train, val;
  for (const EpochStats& e : h.epochs) {
    epochs.push_back(e.epoch);
    train.push_back(e.train_loss);
    val.push_back(e.val_loss);
  }
  plot::loss_curves(path, title, {{"train", epochs, train}, {"validation", epochs, val}}, true);
  return true;
}

} // namespace kiln::examples
