#include "io/points.h"

#include <cmath>

#include "base/error.h"

namespace kiln::data {

namespace {

void check_dims(const char* what, size_t d) {
  if (d < 1 || d > 3)
    throw Error(str("[", what, "] needs 1 to 3 dimensions, got ", d));
}

/** A direction uniform on the unit sphere of `d` dimensions (the two signs for d = 1). */
std::vector<double> direction(int d, Rng& rng) {
  std::vector<double> u(static_cast<size_t>(d));
  double norm = 0;
  do {
    norm = 0;
    for (double& v : u) {
      v = rng.normal();
      norm += v * v;
    }
  } while (norm < 1e-24);
  for (double& v : u)
    v /= std::sqrt(norm);
  return u;
}

} // namespace

BoxDomain::BoxDomain(std::vector<double> lo, std::vector<double> hi)
    : lo_(std::move(lo)), hi_(std::move(hi)) {
  check_dims("BoxDomain", lo_.size());
  if (hi_.size() != lo_.size())
    throw Error(str("[BoxDomain] ", lo_.size(), " lower bounds but ", hi_.size(), " upper ones"));
  for (size_t i = 0; i < lo_.size(); ++i)
    if (!(lo_[i] < hi_[i]))
      throw Error(str("[BoxDomain] axis ", i, ": [", lo_[i], ", ", hi_[i], "] is empty"));
}

MatrixRM BoxDomain::interior(int n, Rng& rng) const {
  MatrixRM p(n, dims());
  for (int r = 0; r < n; ++r)
    for (int i = 0; i < dims(); ++i)
      p(r, i) =
          static_cast<float>(rng.uniform(lo_[static_cast<size_t>(i)], hi_[static_cast<size_t>(i)]));
  return p;
}

MatrixRM BoxDomain::boundary(int n, Rng& rng) const {
  // A face is axis `a` held at lo or hi; its area is the product of the other extents.
  std::vector<double> area(static_cast<size_t>(dims()));
  double total = 0;
  for (int a = 0; a < dims(); ++a) {
    double s = 1;
    for (int i = 0; i < dims(); ++i)
      if (i != a)
        s *= hi_[static_cast<size_t>(i)] - lo_[static_cast<size_t>(i)];
    total += area[static_cast<size_t>(a)] = s;
  }
  MatrixRM p = interior(n, rng);
  for (int r = 0; r < n; ++r) {
    double pick = rng.uniform(0.0, total);
    int a = 0;
    while (a + 1 < dims() && pick >= area[static_cast<size_t>(a)])
      pick -= area[static_cast<size_t>(a++)];
    const auto ax = static_cast<size_t>(a);
    p(r, a) = static_cast<float>(rng.uniform() < 0.5 ? lo_[ax] : hi_[ax]);
  }
  return p;
}

bool BoxDomain::contains(const float* x) const {
  for (int i = 0; i < dims(); ++i)
    if (x[i] < lo_[static_cast<size_t>(i)] || x[i] > hi_[static_cast<size_t>(i)])
      return false;
  return true;
}

EllipseDomain::EllipseDomain(std::vector<double> centre, std::vector<double> radii)
    : centre_(std::move(centre)), radii_(std::move(radii)) {
  check_dims("EllipseDomain", centre_.size());
  if (radii_.size() != centre_.size())
    throw Error(str("[EllipseDomain] a centre of ", centre_.size(), " coordinates but ",
                    radii_.size(), " radii"));
  for (size_t i = 0; i < radii_.size(); ++i)
    if (!(radii_[i] > 0))
      throw Error(str("[EllipseDomain] radius ", i, " must be > 0, got ", radii_[i]));
}

MatrixRM EllipseDomain::interior(int n, Rng& rng) const {
  // Uniform in the unit ball (a direction, radius u^(1/d)), then stretched by the radii.
  MatrixRM p(n, dims());
  for (int r = 0; r < n; ++r) {
    const std::vector<double> u = direction(dims(), rng);
    const double rad = std::pow(rng.uniform(), 1.0 / dims());
    for (int i = 0; i < dims(); ++i) {
      const auto k = static_cast<size_t>(i);
      p(r, i) = static_cast<float>(centre_[k] + radii_[k] * rad * u[k]);
    }
  }
  return p;
}

MatrixRM EllipseDomain::boundary(int n, Rng& rng) const {
  MatrixRM p(n, dims());
  for (int r = 0; r < n; ++r) {
    const std::vector<double> u = direction(dims(), rng);
    for (int i = 0; i < dims(); ++i) {
      const auto k = static_cast<size_t>(i);
      p(r, i) = static_cast<float>(centre_[k] + radii_[k] * u[k]);
    }
  }
  return p;
}

bool EllipseDomain::contains(const float* x) const {
  double s = 0;
  for (int i = 0; i < dims(); ++i) {
    const auto k = static_cast<size_t>(i);
    const double v = (x[i] - centre_[k]) / radii_[k];
    s += v * v;
  }
  return s <= 1.0;
}

std::vector<double> EllipseDomain::lo() const {
  std::vector<double> out;
  for (size_t i = 0; i < centre_.size(); ++i)
    out.push_back(centre_[i] - radii_[i]);
  return out;
}

std::vector<double> EllipseDomain::hi() const {
  std::vector<double> out;
  for (size_t i = 0; i < centre_.size(); ++i)
    out.push_back(centre_[i] + radii_[i]);
  return out;
}

namespace {
/** Space points `x` with a time column appended: t uniform in (t0, t1), or fixed at t0. */
MatrixRM with_time(const MatrixRM& x, const SpaceTime& st, Rng& rng, bool fixed) {
  MatrixRM p(x.rows(), x.cols() + 1);
  p.leftCols(x.cols()) = x;
  for (int r = 0; r < x.rows(); ++r)
    p(r, x.cols()) = static_cast<float>(fixed ? st.t0 : rng.uniform(st.t0, st.t1));
  return p;
}
} // namespace

MatrixRM SpaceTime::interior(int n, Rng& rng) const {
  return with_time(space->interior(n, rng), *this, rng, false);
}
MatrixRM SpaceTime::boundary(int n, Rng& rng) const {
  return with_time(space->boundary(n, rng), *this, rng, false);
}
MatrixRM SpaceTime::initial(int n, Rng& rng) const {
  return with_time(space->interior(n, rng), *this, rng, true);
}

MatrixRM grid_2d(double x_lo, double x_hi, double y_lo, double y_hi, int n) {
  MatrixRM p(n * n, 2);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      p(i * n + j, 0) = static_cast<float>(x_lo + (x_hi - x_lo) * (j + 0.5) / n);
      p(i * n + j, 1) = static_cast<float>(y_hi - (y_hi - y_lo) * (i + 0.5) / n);
    }
  return p;
}

} // namespace kiln::data
