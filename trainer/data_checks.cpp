#include "trainer/data_checks.h"

#include <cmath>

#include "base/error.h"

namespace kiln::detail {

namespace {

void check_finite(const MatrixRM& m, const std::string& which, const char* name) {
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c)
      if (!std::isfinite(m(r, c)))
        throw DataError(
            str("[fit] ", which, ": ", name, "(", r, ", ", c, ") is ", m(r, c),
                "; clean the data, or set FitOptions::allow_non_finite to train on it"));
}

} // namespace

void check_dataset(const data::Dataset& d, const std::string& which, const DataShape& want,
                   bool allow_non_finite) {
  auto fail = [&](const std::string& why) { throw DataError(str("[fit] ", which, ": ", why)); };
  if (d.x.rows() == 0)
    fail("the data set is empty");
  if (d.is_classification() != want.classification)
    fail(str("the loss needs ", want.classification ? "class labels" : "regression targets",
             " but the data set has ",
             d.is_classification() ? "class labels" : "regression targets"));
  if (d.x.cols() != want.features)
    fail(str("x has ", d.x.cols(), " columns; the network takes ", want.features, " features"));
  if (want.classification) {
    if (d.labels.size() != d.x.rows())
      fail(str("labels has ", d.labels.size(), " entries but x has ", d.x.rows(), " rows"));
    for (Eigen::Index r = 0; r < d.labels.size(); ++r)
      if (d.labels(r) < 0 || d.labels(r) >= want.targets)
        fail(str("labels(", r, ") is ", d.labels(r), ", outside [0, ", want.targets,
                 "): the network has ", want.targets, " classes"));
  } else {
    if (d.y.rows() != d.x.rows())
      fail(str("y has ", d.y.rows(), " rows but x has ", d.x.rows()));
    if (d.y.cols() != want.targets)
      fail(str("y has ", d.y.cols(), " columns; the network has ", want.targets, " outputs"));
  }
  if (allow_non_finite)
    return;
  check_finite(d.x, which, "x");
  if (!want.classification)
    check_finite(d.y, which, "y");
}

} // namespace kiln::detail
