#pragma once
// What the examples do with a training History: the loss curves as a PNG, and the final numbers
// for the result line (also for --epochs 0, where they are the untrained network's).

#include <string>
#include <vector>

#include "plot/plot.h"
#include "trainer/trainer.h"

namespace kiln::examples {

/**
 * The last epoch's numbers; when no epoch ran, the loss and accuracy of the network as it is
 * (epoch 0, as the notebooks print before training).
 */
inline EpochStats final_stats(const History& h, Trainer& trainer, const data::Dataset& train,
                              const data::Dataset& val) {
  if (!h.epochs.empty())
    return h.epochs.back();
  const Metrics t = trainer.evaluate(train), v = trainer.evaluate(val);
  return {.train_loss = t.loss, .train_acc = t.accuracy, .val_loss = v.loss, .val_acc = v.accuracy};
}

/**
 * Writes the training and validation loss per epoch to `path` (log scale, as the notebooks plot
 * it). Returns false, and writes nothing, when no epoch ran.
 */
inline bool plot_loss_curves(const std::string& path, const std::string& title, const History& h) {
  if (h.epochs.empty())
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
