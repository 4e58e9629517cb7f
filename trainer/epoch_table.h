#pragma once
// The per-epoch table of a training run, as the course's notebooks print it with verbose on:
// one header line, then a row per epoch as it ends (epoch 0 is the network before training).
//
//   epoch  run_loss    run_acc  train_loss  train_acc  val_loss    val_acc  lr          seconds
//   0      -           -        2.3026e+00  10.03      2.3027e+00  9.92     1.0000e-03  0.82
//   1      4.8812e-01  82.41    3.4907e-01  87.46      3.6721e-01  86.70    1.0000e-03  41.3
//
// Accuracies are in percent; a value that was not computed (the untrained network's running
// loss, accuracy for regression) is "-".

#include <string>

#include "trainer/trainer.h"

namespace kiln {

/** The header line (no newline). */
std::string epoch_table_header();
/** One epoch's row (no newline), in the header's columns. */
std::string epoch_table_row(const EpochStats& s);

} // namespace kiln
