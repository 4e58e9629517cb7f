#include "io/synthetic.h"

#include "error_text.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using kiln::data::Box;
using kiln::data::Dataset;
using kiln::test::data_error_of;

namespace {

struct Moments {
  double mean = 0.0;
  double stddev = 0.0;
};

template <class Vec>
Moments moments(const Vec& v) {
  Moments m;
  for (double x : v)
    m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v)
    m.stddev += (x - m.mean) * (x - m.mean);
  m.stddev = std::sqrt(m.stddev / static_cast<double>(v.size() - 1));
  return m;
}

std::vector<int> class_counts(const Dataset& d) {
  std::vector<int> counts(static_cast<size_t>(d.num_classes), 0);
  for (int i = 0; i < d.rows(); ++i)
    ++counts.at(static_cast<size_t>(d.labels(i)));
  return counts;
}

double paraboloid(double a, double b) {
  return a * a + b * b;
}

} // namespace

TEST_CASE("regression_1d: the course's default is sin on [-3, 3] with noise 0.2", "[data]") {
  const Dataset d = kiln::data::regression_1d();
  REQUIRE(d.rows() == 2000);
  REQUIRE(d.x.cols() == 1);
  REQUIRE(d.y.cols() == 1);
  CHECK_FALSE(d.is_classification());
  CHECK(d.x.minCoeff() >= -3.0f);
  CHECK(d.x.maxCoeff() <= 3.0f);
  // U[-3, 3] has mean 0 and standard deviation sqrt(3); the sample mean's error is ~0.04.
  const Moments mx = moments(d.x.col(0));
  CHECK(std::abs(mx.mean) < 0.15);
  CHECK(mx.stddev == Approx(std::sqrt(3.0)).margin(0.06));
  std::vector<double> residuals;
  for (int i = 0; i < d.rows(); ++i)
    residuals.push_back(d.y(i, 0) - std::sin(double{d.x(i, 0)}));
  const Moments r = moments(residuals);
  CHECK(std::abs(r.mean) < 0.02);               // 4 standard errors of 0.2 / sqrt(2000)
  CHECK(r.stddev == Approx(0.2).margin(0.012)); // ~4 standard errors of the sample stddev
}

TEST_CASE("regression_1d: seeds decide the samples, and noise does not move the inputs", "[data]") {
  const auto f = [](double t) { return t * t; };
  const Dataset a = kiln::data::regression_1d(f, -1.0, 2.0, 300, 0.1, 7);
  const Dataset b = kiln::data::regression_1d(f, -1.0, 2.0, 300, 0.1, 7);
  const Dataset c = kiln::data::regression_1d(f, -1.0, 2.0, 300, 0.1, 8);
  CHECK(a.x == b.x);
  CHECK(a.y == b.y);
  CHECK(a.x != c.x);
  const Dataset exact = kiln::data::regression_1d(f, -1.0, 2.0, 300, 0.0, 7);
  CHECK(exact.x == a.x);
  CHECK(exact.y != a.y);
  for (int i = 0; i < exact.rows(); ++i)
    CHECK(exact.y(i, 0) == Approx(f(exact.x(i, 0))).epsilon(1e-6).margin(1e-6));
}

TEST_CASE("regression_2d: inputs fill the box, residuals have the noise level", "[data]") {
  const Box box{-1.0, 1.0, 2.0, 5.0};
  const auto f = [](double a, double b) { return std::sin(a) * (b + 1.0) + std::cos(b) * a; };
  const Dataset d = kiln::data::regression_2d(f, box, 3000, 0.5, 3);
  REQUIRE(d.x.cols() == 2);
  REQUIRE(d.y.cols() == 1);
  CHECK(d.x.col(0).minCoeff() >= -1.0f);
  CHECK(d.x.col(0).maxCoeff() <= 1.0f);
  CHECK(d.x.col(1).minCoeff() >= 2.0f);
  CHECK(d.x.col(1).maxCoeff() <= 5.0f);
  CHECK(moments(d.x.col(1)).mean == Approx(3.5).margin(0.1));
  std::vector<double> residuals;
  for (int i = 0; i < d.rows(); ++i)
    residuals.push_back(d.y(i, 0) - f(d.x(i, 0), d.x(i, 1)));
  CHECK(moments(residuals).stddev == Approx(0.5).margin(0.03));
  CHECK(kiln::data::regression_2d(f, box, 3000, 0.5, 3).y == d.y);
  CHECK(kiln::data::regression_2d(f, box, 3000, 0.5, 4).x != d.x);
}

TEST_CASE("level_cutoffs: equal bands of f's range on dnn101's 100 x 100 grid", "[data]") {
  const std::vector<double> c = kiln::data::level_cutoffs(paraboloid, Box{}, 3);
  // linspace(-3, 3, 100) misses 0: its smallest |value| is 3/99.
  const double lo = 2.0 * (3.0 / 99.0) * (3.0 / 99.0), hi = 18.0;
  REQUIRE(c.size() == 2);
  CHECK(c[0] == Approx(lo + (hi - lo) / 3.0).epsilon(1e-12));
  CHECK(c[1] == Approx(lo + 2.0 * (hi - lo) / 3.0).epsilon(1e-12));
  CHECK(kiln::data::level_class(c[0], c) == 0); // bands are closed above
  CHECK(kiln::data::level_class(c[0] + 1e-9, c) == 1);
  CHECK(kiln::data::level_class(-5.0, c) == 0);
  CHECK(kiln::data::level_class(100.0, c) == 2);
}

TEST_CASE("level_set_2d: the default labels points by band, with dnn101's class balance",
          "[data]") {
  const Dataset d = kiln::data::level_set_2d();
  REQUIRE(d.rows() == 2000);
  REQUIRE(d.num_classes == 3);
  REQUIRE(d.is_classification());
  const std::vector<double> cut = kiln::data::level_cutoffs(paraboloid, Box{}, 3);
  // The default perturbs f by N(0, 0.01²) before labelling: only points within a few hundredths
  // of a boundary may change band.
  int off_band = 0;
  for (int i = 0; i < d.rows(); ++i) {
    const double v = paraboloid(d.x(i, 0), d.x(i, 1));
    const int exact = kiln::data::level_class(v, cut);
    if (d.labels(i) != exact) {
      ++off_band;
      CHECK(std::min(std::abs(v - cut[0]), std::abs(v - cut[1])) < 0.06);
    }
  }
  CHECK(off_band < 20);

  // Expected class shares: areas of the bands within the box, by the midpoint rule.
  std::vector<double> share(3, 0.0);
  constexpr int kCells = 600;
  for (int i = 0; i < kCells; ++i)
    for (int j = 0; j < kCells; ++j) {
      const double a = -3.0 + 6.0 * (i + 0.5) / kCells, b = -3.0 + 6.0 * (j + 0.5) / kCells;
      share[static_cast<size_t>(kiln::data::level_class(paraboloid(a, b), cut))] +=
          1.0 / (kCells * kCells);
    }
  const std::vector<int> counts = class_counts(d);
  for (size_t k = 0; k < 3; ++k)
    CHECK(counts[k] / 2000.0 == Approx(share[k]).margin(0.035));
}

TEST_CASE("level_set_2d: without noise every label is exactly its band", "[data]") {
  const auto f = [](double a, double b) { return std::sin(a) + std::cos(b); };
  const Box box{-2.0, 4.0, -3.0, 1.0};
  const Dataset d = kiln::data::level_set_2d(f, box, 1500, 4, 11, 0.0);
  const std::vector<double> cut = kiln::data::level_cutoffs(f, box, 4);
  std::vector<int> seen(4, 0);
  for (int i = 0; i < d.rows(); ++i) {
    REQUIRE(d.labels(i) == kiln::data::level_class(f(d.x(i, 0), d.x(i, 1)), cut));
    ++seen[static_cast<size_t>(d.labels(i))];
  }
  for (int s : seen)
    CHECK(s > 0);
  CHECK(kiln::data::level_set_2d(f, box, 1500, 4, 11, 0.0).x == d.x);
  CHECK(kiln::data::level_set_2d(f, box, 1500, 4, 12, 0.0).x != d.x);
}

TEST_CASE("moons: two half circles with sklearn's sizes and shuffled labels", "[data]") {
  const Dataset d = kiln::data::moons(201, 0.0, 5);
  REQUIRE(d.num_classes == 2);
  const std::vector<int> counts = class_counts(d);
  CHECK(counts[0] == 100); // n / 2 on the outer moon, the rest on the inner one
  CHECK(counts[1] == 101);
  for (int i = 0; i < d.rows(); ++i) {
    const double a = d.x(i, 0), b = d.x(i, 1);
    if (d.labels(i) == 0) {
      CHECK(std::hypot(a, b) == Approx(1.0).margin(1e-6));
      CHECK(b >= -1e-6);
    } else {
      CHECK(std::hypot(a - 1.0, b - 0.5) == Approx(1.0).margin(1e-6));
      CHECK(b <= 0.5 + 1e-6);
    }
  }
  // The arcs run from end to end: both ends of the outer moon are there.
  CHECK(d.x.col(0).minCoeff() == Approx(-1.0).margin(1e-6));
  CHECK(d.x.col(0).maxCoeff() == Approx(2.0).margin(1e-6));
  // Shuffled: the labels are not in two blocks.
  int changes = 0;
  for (int i = 1; i < d.rows(); ++i)
    changes += d.labels(i) != d.labels(i - 1);
  CHECK(changes > 50);
}

TEST_CASE("moons: noise moves points off the arcs by its level", "[data]") {
  const Dataset d = kiln::data::moons(4000, 0.1, 6);
  std::vector<double> radial;
  for (int i = 0; i < d.rows(); ++i) {
    const double a = d.x(i, 0), b = d.x(i, 1);
    radial.push_back(d.labels(i) == 0 ? std::hypot(a, b) - 1.0
                                      : std::hypot(a - 1.0, b - 0.5) - 1.0);
  }
  CHECK(moments(radial).stddev == Approx(0.1).margin(0.01));
  CHECK(kiln::data::moons(4000, 0.1, 6).x == d.x);
  CHECK(kiln::data::moons(4000, 0.1, 7).x != d.x);
}

TEST_CASE("circles: an outer unit circle and an inner one of radius factor", "[data]") {
  const Dataset d = kiln::data::circles(100, 0.0, 0.3, 1);
  const std::vector<int> counts = class_counts(d);
  CHECK(counts[0] == 50);
  CHECK(counts[1] == 50);
  double angle_sum = 0.0;
  for (int i = 0; i < d.rows(); ++i) {
    const double r = std::hypot(double{d.x(i, 0)}, double{d.x(i, 1)});
    CHECK(r == Approx(d.labels(i) == 0 ? 1.0 : 0.3).margin(1e-6));
    angle_sum += d.labels(i) == 0 ? d.x(i, 0) : 0.0;
  }
  // Evenly spaced angles without the end point: the outer circle's x coordinates sum to 0.
  CHECK(std::abs(angle_sum) < 1e-4);
  const Dataset noisy = kiln::data::circles(4000, 0.05, 0.5, 2);
  std::vector<double> radial;
  for (int i = 0; i < noisy.rows(); ++i)
    radial.push_back(std::hypot(double{noisy.x(i, 0)}, double{noisy.x(i, 1)}) -
                     (noisy.labels(i) == 0 ? 1.0 : 0.5));
  CHECK(moments(radial).stddev == Approx(0.05).margin(0.005));
  CHECK(kiln::data::circles(4000, 0.05, 0.5, 2).x == noisy.x);
  CHECK(kiln::data::circles(4000, 0.05, 0.5, 3).x != noisy.x);
}

TEST_CASE("blobs: sklearn's split of points over centres, spread stddev", "[data]") {
  const Dataset d = kiln::data::blobs(1003, 4, 0.5, 9);
  REQUIRE(d.num_classes == 4);
  const std::vector<int> counts = class_counts(d);
  CHECK(counts == std::vector<int>{251, 251, 251, 250});
  for (int k = 0; k < 4; ++k) {
    std::vector<double> xs, ys;
    for (int i = 0; i < d.rows(); ++i)
      if (d.labels(i) == k) {
        xs.push_back(d.x(i, 0));
        ys.push_back(d.x(i, 1));
      }
    const Moments mx = moments(xs), my = moments(ys);
    CHECK(std::abs(mx.mean) < 10.2); // centres lie in sklearn's center_box (-10, 10)
    CHECK(std::abs(my.mean) < 10.2);
    CHECK(mx.stddev == Approx(0.5).margin(0.08));
    CHECK(my.stddev == Approx(0.5).margin(0.08));
  }
  CHECK(kiln::data::blobs(1003, 4, 0.5, 9).x == d.x);
  CHECK(kiln::data::blobs(1003, 4, 0.5, 10).x != d.x);
  const Dataset boxed = kiln::data::blobs(50, 3, 0.0, 1, Box{5.0, 6.0, -2.0, -1.0});
  CHECK(boxed.x.col(0).minCoeff() >= 5.0f);
  CHECK(boxed.x.col(1).maxCoeff() <= -1.0f);
}

TEST_CASE("synthetic sets: arguments a person can get wrong", "[data][errors]") {
  const auto f1 = [](double t) { return t; };
  const auto f2 = [](double a, double b) { return a + b; };
  CHECK(data_error_of([&] { kiln::data::regression_1d(f1, -1, 1, 0, 0.1, 1); }) ==
        "[regression_1d] n must be positive, got 0");
  CHECK(data_error_of([&] { kiln::data::regression_1d(f1, 1, -1, 10, 0.1, 1); }) ==
        "[regression_1d] the interval must have lo < hi, got [1, -1]");
  CHECK(data_error_of([&] { kiln::data::regression_1d(f1, -1, 1, 10, -0.1, 1); }) ==
        "[regression_1d] noise_sigma must be a finite value >= 0, got -0.1");
  CHECK(data_error_of([&] {
          kiln::data::regression_2d(f2, Box{0, 1, 2, 2}, 10, 0.1, 1);
        }) == "[regression_2d] box must have lo < hi on both axes, got [0, 1] x [2, 2]");
  CHECK(data_error_of([&] { kiln::data::level_set_2d(f2, Box{}, 10, 1, 1); }) ==
        "[level_set_2d] num_classes must be at least 2, got 1");
  CHECK(data_error_of([&] {
          kiln::data::level_set_2d([](double a, double) { return 1.0 / a; }, Box{0, 1, 0, 1}, 10, 2,
                                   1);
        }) == "[level_set_2d] f must be finite on the box, its range on the grid is [1, inf]");
  CHECK(data_error_of([&] { kiln::data::moons(-3, 0.1, 1); }) ==
        "[moons] n must be positive, got -3");
  CHECK(data_error_of([&] { kiln::data::moons(10, -1.0, 1); }) ==
        "[moons] noise must be a finite value >= 0, got -1");
  CHECK(data_error_of([&] { kiln::data::circles(10, 0.1, 1.0, 1); }) ==
        "[circles] factor (inner radius / outer radius) must be in [0, 1), got 1");
  CHECK(data_error_of([&] { kiln::data::blobs(10, 0, 1.0, 1); }) ==
        "[blobs] num_centers must be at least 1, got 0");
  CHECK(data_error_of([&] { kiln::data::blobs(10, 2, -1.0, 1); }) ==
        "[blobs] stddev must be a finite value >= 0, got -1");
}
