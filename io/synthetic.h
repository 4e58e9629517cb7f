#pragma once
// The course's synthetic data sets (dnn101): noisy 1D/2D regression, 2D level-set
// classification, and sklearn's moons, circles and blobs. Every generator is a pure function of
// its arguments: the same seed gives the same samples on every machine (kiln::Rng, never
// std::*_distribution). Arguments a person can get wrong throw kiln::DataError.

#include "io/dataset.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace kiln::data {

/**
 * n samples x ~ U[lo, hi] with targets y = f(x) + N(0, noise_sigma²); x is [n, 1], y is [n, 1].
 * The defaults are the course's: sin on [−3, 3] with σ = 0.2 and 2000 points. The inputs and the
 * noise come from separate streams of `seed`, so changing σ keeps the same x.
 * Throws kiln::DataError unless n > 0, lo < hi and noise_sigma >= 0.
 */
Dataset regression_1d(
    std::function<double(double)> f = [](double t) { return std::sin(t); }, double lo = -3.0,
    double hi = 3.0, int n = 2000, double noise_sigma = 0.2, uint64_t seed = 42);

/**
 * n samples x uniform in `box` with targets y = f(x₁, x₂) + N(0, noise_sigma²); x is [n, 2], y is
 * [n, 1]. Throws kiln::DataError unless n > 0, the box is non-empty and noise_sigma >= 0.
 */
Dataset regression_2d(std::function<double(double, double)> f, const Box& box, int n,
                      double noise_sigma, uint64_t seed);

/**
 * The class boundaries of level_set_2d, as dnn101 chooses them: f is evaluated on a 100 × 100
 * grid of evenly spaced points over `box` (edges included) and [min f, max f] is cut into
 * `num_classes` bands of equal height. Returns the num_classes − 1 inner cut-offs, ascending.
 */
std::vector<double> level_cutoffs(const std::function<double(double, double)>& f, const Box& box,
                                  int num_classes);

/**
 * The band of `value` for the given cut-offs: 0 when value <= cutoffs[0], k when
 * cutoffs[k−1] < value <= cutoffs[k], and cutoffs.size() above the last.
 */
int level_class(double value, const std::vector<double>& cutoffs);

/**
 * n points uniform in `box`, each labelled with the level band of f it falls in
 * (level_class(f(x) + N(0, noise_sigma²), level_cutoffs(f, box, num_classes))). dnn101 perturbs
 * f by noise of level 0.01 before labelling, so points near a boundary may land in the next
 * band; pass noise_sigma = 0 for exact bands. The defaults are the course's: f = x₁² + x₂² on
 * [−3, 3]² with 3 classes. Throws kiln::DataError unless n > 0, num_classes >= 2, the box is
 * non-empty and noise_sigma >= 0.
 */
Dataset level_set_2d(
    std::function<double(double, double)> f = [](double a, double b) { return a * a + b * b; },
    const Box& box = {}, int n = 2000, int num_classes = 3, uint64_t seed = 42,
    double noise_sigma = 0.01);

/**
 * sklearn's make_moons: two interleaving half circles, n / 2 (rounded down) points on the outer
 * moon (label 0, centre (0, 0)) and the rest on the inner one (label 1, centre (1, 0.5)), evenly
 * spaced along each arc, shuffled, then moved by N(0, noise²) in each coordinate.
 * Throws kiln::DataError unless n > 0 and noise >= 0.
 */
Dataset moons(int n, double noise, uint64_t seed);

/**
 * sklearn's make_circles: n / 2 (rounded down) points evenly spaced on the unit circle (label 0)
 * and the rest on a circle of radius `factor` (label 1), shuffled, then moved by N(0, noise²) in
 * each coordinate. Throws kiln::DataError unless n > 0, noise >= 0 and 0 <= factor < 1.
 */
Dataset circles(int n, double noise, double factor, uint64_t seed);

/**
 * sklearn's make_blobs in 2D: `num_centers` centres uniform in `box` (sklearn's center_box
 * (−10, 10) by default); centre k gets n / num_centers points (the first n % num_centers centres
 * one more), drawn from N(centre, stddev² I) and labelled k; the rows are shuffled.
 * Throws kiln::DataError unless n > 0, num_centers >= 1, stddev >= 0 and the box is non-empty.
 */
Dataset blobs(int n, int num_centers, double stddev, uint64_t seed,
              const Box& box = Box{-10.0, 10.0, -10.0, 10.0});

} // namespace kiln::data
