#pragma once
// Host matrices at kiln's API edge. Samples are rows, so a row is contiguous, as kernels expect.

#include <Eigen/Core>

namespace kiln {

/** float matrix, row-major: the default host type of data, weights and predictions. */
using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/** double matrix, row-major (for f64 graphs). */
using MatrixRMd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

} // namespace kiln
