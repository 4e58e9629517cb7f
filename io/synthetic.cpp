#include "io/synthetic.h"

#include "base/error.h"
#include "base/rng.h"

#include <algorithm>
#include <limits>
#include <numbers>

namespace kiln::data {

namespace {

// Separate streams per purpose, so that e.g. a different noise level keeps the same inputs.
constexpr uint64_t kInputStream = 1;
constexpr uint64_t kNoiseStream = 2;
constexpr uint64_t kShuffleStream = 3;
constexpr uint64_t kCentreStream = 4;

void check_count(const char* api, int n) {
  if (n <= 0)
    throw DataError(str("[", api, "] n must be positive, got ", n));
}

void check_sigma(const char* api, const char* name, double sigma) {
  if (!(sigma >= 0.0) || !std::isfinite(sigma))
    throw DataError(str("[", api, "] ", name, " must be a finite value >= 0, got ", sigma));
}

void check_box(const char* api, const Box& b) {
  if (!(b.x_lo < b.x_hi) || !(b.y_lo < b.y_hi) || !std::isfinite(b.x_hi - b.x_lo) ||
      !std::isfinite(b.y_hi - b.y_lo))
    throw DataError(str("[", api, "] box must have lo < hi on both axes, got [", b.x_lo, ", ",
                        b.x_hi, "] x [", b.y_lo, ", ", b.y_hi, "]"));
}

MatrixRM uniform_points(const Box& box, int n, Rng& rng) {
  MatrixRM x(n, 2);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = static_cast<float>(rng.uniform(box.x_lo, box.x_hi));
    x(i, 1) = static_cast<float>(rng.uniform(box.y_lo, box.y_hi));
  }
  return x;
}

// Reorders the rows of a freshly built classification set, as sklearn's shuffle=True does.
Dataset shuffled(const Dataset& d, uint64_t seed) {
  Rng rng(seed, kShuffleStream);
  return d.subset(random_permutation(d.rows(), rng));
}

void add_noise(MatrixRM& x, double noise, uint64_t seed) {
  if (noise == 0.0)
    return;
  Rng rng(seed, kNoiseStream);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = 0; j < x.cols(); ++j)
      x(i, j) = static_cast<float>(x(i, j) + rng.normal(0.0, noise));
}

// numpy.linspace(lo, hi, n, endpoint): the k-th of n evenly spaced values.
double linspace_at(double lo, double hi, int n, int k, bool endpoint) {
  if (endpoint)
    return n == 1 ? lo : lo + (hi - lo) * k / (n - 1);
  return lo + (hi - lo) * k / n;
}

} // namespace

Dataset regression_1d(std::function<double(double)> f, double lo, double hi, int n,
                      double noise_sigma, uint64_t seed) {
  check_count("regression_1d", n);
  check_sigma("regression_1d", "noise_sigma", noise_sigma);
  if (!(lo < hi) || !std::isfinite(hi - lo))
    throw DataError(
        str("[regression_1d] the interval must have lo < hi, got [", lo, ", ", hi, "]"));
  Rng xs(seed, kInputStream), noise(seed, kNoiseStream);
  Dataset d;
  d.x.resize(n, 1);
  d.y.resize(n, 1);
  for (int i = 0; i < n; ++i) {
    const double x = xs.uniform(lo, hi);
    d.x(i, 0) = static_cast<float>(x);
    d.y(i, 0) = static_cast<float>(f(x) + noise.normal(0.0, noise_sigma));
  }
  return d;
}

Dataset regression_2d(std::function<double(double, double)> f, const Box& box, int n,
                      double noise_sigma, uint64_t seed) {
  check_count("regression_2d", n);
  check_sigma("regression_2d", "noise_sigma", noise_sigma);
  check_box("regression_2d", box);
  Rng xs(seed, kInputStream), noise(seed, kNoiseStream);
  Dataset d;
  d.x = uniform_points(box, n, xs);
  d.y.resize(n, 1);
  for (int i = 0; i < n; ++i)
    d.y(i, 0) = static_cast<float>(f(d.x(i, 0), d.x(i, 1)) + noise.normal(0.0, noise_sigma));
  return d;
}

std::vector<double> level_cutoffs(const std::function<double(double, double)>& f, const Box& box,
                                  int num_classes) {
  if (num_classes < 2)
    throw DataError(str("[level_set_2d] num_classes must be at least 2, got ", num_classes));
  check_box("level_set_2d", box);
  constexpr int kGrid = 100;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j) {
      const double v = f(linspace_at(box.x_lo, box.x_hi, kGrid, i, true),
                         linspace_at(box.y_lo, box.y_hi, kGrid, j, true));
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo) || !std::isfinite(hi))
    throw DataError(str("[level_set_2d] f must be finite on the box, its range on the grid is [",
                        lo, ", ", hi, "]"));
  std::vector<double> cutoffs;
  const double h = (hi - lo) / num_classes;
  for (int k = 1; k < num_classes; ++k)
    cutoffs.push_back(lo + h * k);
  return cutoffs;
}

int level_class(double value, const std::vector<double>& cutoffs) {
  // The first cut-off at or above the value: bands are open below and closed above.
  return static_cast<int>(std::lower_bound(cutoffs.begin(), cutoffs.end(), value) -
                          cutoffs.begin());
}

Dataset level_set_2d(std::function<double(double, double)> f, const Box& box, int n,
                     int num_classes, uint64_t seed, double noise_sigma) {
  check_count("level_set_2d", n);
  check_sigma("level_set_2d", "noise_sigma", noise_sigma);
  const std::vector<double> cutoffs = level_cutoffs(f, box, num_classes);
  Rng xs(seed, kInputStream), noise(seed, kNoiseStream);
  Dataset d;
  d.num_classes = num_classes;
  d.x = uniform_points(box, n, xs);
  d.labels.resize(n);
  for (int i = 0; i < n; ++i)
    d.labels(i) = level_class(f(d.x(i, 0), d.x(i, 1)) + noise.normal(0.0, noise_sigma), cutoffs);
  return d;
}

Dataset moons(int n, double noise, uint64_t seed) {
  check_count("moons", n);
  check_sigma("moons", "noise", noise);
  const int n_out = n / 2, n_in = n - n_out;
  Dataset d;
  d.num_classes = 2;
  d.x.resize(n, 2);
  d.labels.resize(n);
  for (int k = 0; k < n; ++k) {
    const bool outer = k < n_out;
    const double t = outer ? linspace_at(0.0, std::numbers::pi, n_out, k, true)
                           : linspace_at(0.0, std::numbers::pi, n_in, k - n_out, true);
    d.x(k, 0) = static_cast<float>(outer ? std::cos(t) : 1.0 - std::cos(t));
    d.x(k, 1) = static_cast<float>(outer ? std::sin(t) : 0.5 - std::sin(t));
    d.labels(k) = outer ? 0 : 1;
  }
  d = shuffled(d, seed);
  add_noise(d.x, noise, seed);
  return d;
}

Dataset circles(int n, double noise, double factor, uint64_t seed) {
  check_count("circles", n);
  check_sigma("circles", "noise", noise);
  if (!(factor >= 0.0 && factor < 1.0))
    throw DataError(
        str("[circles] factor (inner radius / outer radius) must be in [0, 1), got ", factor));
  const int n_out = n / 2, n_in = n - n_out;
  Dataset d;
  d.num_classes = 2;
  d.x.resize(n, 2);
  d.labels.resize(n);
  for (int k = 0; k < n; ++k) {
    const bool outer = k < n_out;
    const double t = outer ? linspace_at(0.0, 2.0 * std::numbers::pi, n_out, k, false)
                           : linspace_at(0.0, 2.0 * std::numbers::pi, n_in, k - n_out, false);
    const double r = outer ? 1.0 : factor;
    d.x(k, 0) = static_cast<float>(r * std::cos(t));
    d.x(k, 1) = static_cast<float>(r * std::sin(t));
    d.labels(k) = outer ? 0 : 1;
  }
  d = shuffled(d, seed);
  add_noise(d.x, noise, seed);
  return d;
}

Dataset blobs(int n, int num_centers, double stddev, uint64_t seed, const Box& box) {
  check_count("blobs", n);
  check_sigma("blobs", "stddev", stddev);
  check_box("blobs", box);
  if (num_centers < 1)
    throw DataError(str("[blobs] num_centers must be at least 1, got ", num_centers));
  Rng centre_rng(seed, kCentreStream), noise(seed, kNoiseStream);
  const MatrixRM centres = uniform_points(box, num_centers, centre_rng);
  Dataset d;
  d.num_classes = num_centers;
  d.x.resize(n, 2);
  d.labels.resize(n);
  int row = 0;
  for (int c = 0; c < num_centers; ++c) {
    const int count = n / num_centers + (c < n % num_centers ? 1 : 0);
    for (int k = 0; k < count; ++k, ++row) {
      d.x(row, 0) = static_cast<float>(centres(c, 0) + noise.normal(0.0, stddev));
      d.x(row, 1) = static_cast<float>(centres(c, 1) + noise.normal(0.0, stddev));
      d.labels(row) = c;
    }
  }
  return shuffled(d, seed);
}

} // namespace kiln::data
