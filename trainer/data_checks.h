#pragma once
// What fit() checks of a data set before any kernel sees it. The fused epoch reads the caller's
// rows through raw pointers, so a short y, a label past the class count or a NaN would otherwise
// read out of bounds or train on garbage with no word about where the fault is.

#include <cstdint>
#include <string>

#include "io/dataset.h"

namespace kiln::detail {

/** What the network expects of a data set. */
struct DataShape {
  int64_t features = 0;
  /** Outputs (regression) or classes (classification). */
  int64_t targets = 0;
  bool classification = false;
};

/**
 * Throws kiln::DataError "[fit] <which>: <what is wrong>" unless `d` has rows, as many rows of
 * targets (y or labels) as of x, the network's feature and target counts, labels in
 * [0, classes) and, unless `allow_non_finite`, no NaN or Inf in x or y; the message names the
 * entry, e.g. "[fit] validation set: x(17, 1) is nan".
 */
void check_dataset(const data::Dataset& d, const std::string& which, const DataShape& want,
                   bool allow_non_finite);

} // namespace kiln::detail
