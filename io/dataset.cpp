#include "io/dataset.h"

#include "base/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::data {

Dataset Dataset::subset(const std::vector<int>& idx) const {
  const int n = rows();
  Dataset out;
  out.num_classes = num_classes;
  const auto m = static_cast<Eigen::Index>(idx.size());
  out.x.resize(m, x.cols());
  const bool has_y = y.rows() == n && y.size() > 0;
  const bool has_labels = labels.size() == n && n > 0;
  if (has_y)
    out.y.resize(m, y.cols());
  if (has_labels)
    out.labels.resize(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const int r = idx[static_cast<size_t>(i)];
    if (r < 0 || r >= n)
      throw DataError(
          str("[dataset] subset: index ", r, " at position ", i, " is out of range [0, ", n, ")"));
    out.x.row(i) = x.row(r);
    if (has_y)
      out.y.row(i) = y.row(r);
    if (has_labels)
      out.labels(i) = labels(r);
  }
  return out;
}

std::vector<int> random_permutation(int n, Rng& rng) {
  std::vector<int> perm(static_cast<size_t>(std::max(n, 0)));
  std::iota(perm.begin(), perm.end(), 0);
  for (int i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<size_t>(i)], perm[rng.below(static_cast<uint32_t>(i + 1))]);
  return perm;
}

namespace {

// A count of rows from a fraction; the small slack keeps 0.7 · 10 from flooring to 6.
int fraction_rows(double fraction, int n) {
  return static_cast<int>(std::floor(fraction * n + 1e-9));
}

} // namespace

Split split(const Dataset& data, double train, double val, uint64_t seed) {
  const bool ok = std::isfinite(train) && std::isfinite(val) && train >= 0.0 && train <= 1.0 &&
                  val >= 0.0 && val <= 1.0 && train + val <= 1.0 + 1e-12;
  if (!ok)
    throw DataError(str("[split] train and val are fractions of the data set: each in [0, 1] and "
                        "summing to at most 1; got train ",
                        train, ", val ", val));
  const int n = data.rows();
  const int n_train = fraction_rows(train, n);
  const int n_val = std::min(fraction_rows(val, n), n - n_train);
  if (n_train == 0)
    throw DataError(
        str("[split] train fraction ", train, " of ", n, " rows leaves the training set empty"));

  Rng rng(seed, 0x5b1175);
  const std::vector<int> perm = random_permutation(n, rng);

  const auto part = [&](int begin, int end) {
    return data.subset(std::vector<int>(perm.begin() + begin, perm.begin() + end));
  };
  return Split{part(0, n_train), part(n_train, n_train + n_val), part(n_train + n_val, n)};
}

void normalize_channels(Dataset& data, const std::vector<double>& mean,
                        const std::vector<double>& stddev) {
  const auto channels = static_cast<Eigen::Index>(mean.size());
  if (channels == 0 || mean.size() != stddev.size())
    throw DataError(str("[normalize] needs one mean and one stddev per channel, got ", mean.size(),
                        " means and ", stddev.size(), " stddevs"));
  if (data.x.cols() % channels != 0)
    throw DataError(str("[normalize] rows of ", data.x.cols(), " values do not split into ",
                        channels, " channels"));
  for (double s : stddev)
    if (!(s > 0.0))
      throw DataError(str("[normalize] a stddev must be positive, got ", s));
  const Eigen::Index plane = data.x.cols() / channels;
  for (Eigen::Index c = 0; c < channels; ++c) {
    const auto m = static_cast<float>(mean[static_cast<size_t>(c)]);
    const auto s = static_cast<float>(stddev[static_cast<size_t>(c)]);
    data.x.middleCols(c * plane, plane) = (data.x.middleCols(c * plane, plane).array() - m) / s;
  }
}

} // namespace kiln::data
