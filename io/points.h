#pragma once
// Points for physics-informed training: a PDE's interior, boundary and initial-time points in
// boxes and ellipses of 1 to 3 dimensions, drawn from a caller's kiln::Rng (so a seed fixes
// them), and grids to evaluate solutions on.

#include <memory>
#include <vector>

#include "base/rng.h"
#include "io/dataset.h"

namespace kiln::data {

/** A spatial domain in 1-3 dimensions. */
class Domain {
public:
  virtual ~Domain() = default;
  virtual int dims() const = 0;
  /** n points uniform in the interior, one per row ([n, dims]). */
  virtual MatrixRM interior(int n, Rng& rng) const = 0;
  /** n points on the boundary ([n, dims]); see each domain for the distribution. */
  virtual MatrixRM boundary(int n, Rng& rng) const = 0;
  virtual bool contains(const float* point) const = 0;
  /** The smallest box around the domain: lo[i], hi[i] per axis. */
  virtual std::vector<double> lo() const = 0;
  virtual std::vector<double> hi() const = 0;
};

/** An axis-aligned box [lo_i, hi_i]; its boundary points are uniform over the faces' area. */
class BoxDomain : public Domain {
public:
  /** Throws kiln::Error unless 1 <= dims <= 3 and lo_i < hi_i. */
  BoxDomain(std::vector<double> lo, std::vector<double> hi);
  int dims() const override { return static_cast<int>(lo_.size()); }
  MatrixRM interior(int n, Rng& rng) const override;
  MatrixRM boundary(int n, Rng& rng) const override;
  bool contains(const float* point) const override;
  std::vector<double> lo() const override { return lo_; }
  std::vector<double> hi() const override { return hi_; }

private:
  std::vector<double> lo_, hi_;
};

/**
 * An ellipse (ellipsoid in 3-D, interval in 1-D) with a centre and radii along the axes. The
 * interior points are uniform by volume; the boundary points are uniform in angle (uniform over
 * the surface for a circle or sphere).
 */
class EllipseDomain : public Domain {
public:
  /** Throws kiln::Error unless 1 <= dims <= 3 and every radius > 0. */
  EllipseDomain(std::vector<double> centre, std::vector<double> radii);
  int dims() const override { return static_cast<int>(centre_.size()); }
  MatrixRM interior(int n, Rng& rng) const override;
  MatrixRM boundary(int n, Rng& rng) const override;
  bool contains(const float* point) const override;
  std::vector<double> lo() const override;
  std::vector<double> hi() const override;

private:
  std::vector<double> centre_, radii_;
};

/** A spatial domain times a time interval [t0, t1]; points are (x..., t), time last. */
struct SpaceTime {
  std::shared_ptr<const Domain> space;
  double t0 = 0.0, t1 = 1.0;

  /** n points uniform in space x (t0, t1). */
  MatrixRM interior(int n, Rng& rng) const;
  /** n points on the spatial boundary, at times uniform in (t0, t1). */
  MatrixRM boundary(int n, Rng& rng) const;
  /** n points uniform in space at t = t0. */
  MatrixRM initial(int n, Rng& rng) const;
};

/**
 * An n x n grid over the box [x_lo, x_hi] x [y_lo, y_hi], row-major with y falling (row 0 at
 * y_hi), as plot::heatmap draws it: [n * n, 2].
 */
MatrixRM grid_2d(double x_lo, double x_hi, double y_lo, double y_hi, int n);

} // namespace kiln::data
