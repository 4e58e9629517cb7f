#pragma once
// A data set in host memory: one sample per row, Eigen at the API edge so a user's own Eigen
// code plugs in without copies. Regression sets carry targets in `y`, classification sets carry
// integer class labels.

#include "base/rng.h"

#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace kiln {

/** Host matrices of samples: row i is sample i, so a row is contiguous in memory. */
using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

} // namespace kiln

namespace kiln::data {

/** An axis-aligned rectangle [x_lo, x_hi] × [y_lo, y_hi] in the plane. */
struct Box {
  double x_lo = -3.0;
  double x_hi = 3.0;
  double y_lo = -3.0;
  double y_hi = 3.0;
};

/**
 * Samples as rows. A regression set fills `y` ([n, outputs]) and leaves `labels` empty and
 * `num_classes` 0. A classification set fills `labels` (n values in [0, num_classes)) and leaves
 * `y` empty.
 */
struct Dataset {
  MatrixRM x;
  MatrixRM y;
  Eigen::VectorXi labels;
  int num_classes = 0;

  /** Number of samples (rows of x). */
  int rows() const { return static_cast<int>(x.rows()); }

  /** True when the set carries class labels rather than regression targets. */
  bool is_classification() const { return num_classes > 0; }

  /**
   * The samples at `idx`, in that order (repeats allowed). Throws kiln::DataError when an index
   * is outside [0, rows()).
   */
  Dataset subset(const std::vector<int>& idx) const;
};

/** The three parts of a data set after split(). */
struct Split {
  Dataset train;
  Dataset val;
  Dataset test;
};

/** A uniformly random permutation of 0 … n−1 (Fisher-Yates), the same for the same rng state. */
std::vector<int> random_permutation(int n, Rng& rng);

/**
 * Shuffles the rows of `data` with `seed` and cuts them into training, validation and test sets.
 * `train` and `val` are fractions of the whole set: the training set gets floor(train·n) rows,
 * the validation set floor(val·n) and the test set the rest. (dnn101's split_data(n_train=0.9,
 * n_val=0.1) takes val as a fraction of the training part; its split is split(d, 0.81, 0.09).)
 * Throws kiln::DataError when a fraction is outside [0, 1], they sum to more than 1, or the
 * training set would be empty. The same seed always gives the same split.
 */
Split split(const Dataset& data, double train, double val, uint64_t seed);

/**
 * Standardizes images stored one per row as `mean.size()` channel planes ([C, H, W] flattened):
 * x = (x - mean[c]) / stddev[c] on the pixels of channel c, as torchvision's Normalize (MNIST:
 * mean 0.1307, stddev 0.3081 of pixels in [0, 1]). Throws kiln::DataError when mean and stddev
 * differ in length or are empty, a row's length is not a multiple of the channel count, or a
 * stddev is not positive.
 */
void normalize_channels(Dataset& data, const std::vector<double>& mean,
                        const std::vector<double>& stddev);

} // namespace kiln::data
