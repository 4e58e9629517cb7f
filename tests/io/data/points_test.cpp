// io/points.h: interior, boundary and initial-time points of boxes and ellipses, seeded.

#include <catch2/catch.hpp>

#include <cmath>

#include "base/error.h"
#include "io/points.h"

using namespace kiln;
using namespace kiln::data;

TEST_CASE("points: a box's interior and its faces, by area") {
  const BoxDomain box({-1.0, 0.0}, {1.0, 0.5}); // faces x = +-1 (length 0.5), y = 0, 0.5 (length 2)
  Rng rng(1);
  const MatrixRM in = box.interior(20000, rng);
  REQUIRE(in.cols() == 2);
  CHECK(in.col(0).minCoeff() >= -1.0f);
  CHECK(in.col(0).maxCoeff() <= 1.0f);
  CHECK(in.col(1).minCoeff() >= 0.0f);
  CHECK(in.col(1).maxCoeff() <= 0.5f);
  CHECK(in.col(0).mean() == Approx(0.0).margin(0.02));
  const MatrixRM bd = box.boundary(20000, rng);
  int on_x = 0, on_y = 0;
  for (int r = 0; r < bd.rows(); ++r) {
    const bool x = std::abs(bd(r, 0)) == 1.0f, y = bd(r, 1) == 0.0f || bd(r, 1) == 0.5f;
    CHECK((x || y));
    on_x += x;
    on_y += y;
    CHECK(box.contains(&bd(r, 0)));
  }
  // Edges x = +-1 make 1 of the perimeter's 5 units.
  CHECK(on_x / 20000.0 == Approx(0.2).margin(0.015));
  CHECK(on_y / 20000.0 == Approx(0.8).margin(0.015));
  // 1-D: the two end points; 3-D: six faces.
  const MatrixRM ends = BoxDomain({2.0}, {3.0}).boundary(50, rng);
  for (int r = 0; r < ends.rows(); ++r)
    CHECK((ends(r, 0) == 2.0f || ends(r, 0) == 3.0f));
  const MatrixRM cube = BoxDomain({0, 0, 0}, {1, 1, 1}).boundary(100, rng);
  for (int r = 0; r < cube.rows(); ++r) {
    int faces = 0;
    for (int i = 0; i < 3; ++i)
      faces += cube(r, i) == 0.0f || cube(r, i) == 1.0f;
    CHECK(faces >= 1);
  }
}

TEST_CASE("points: an ellipse's interior is uniform by area, its boundary on the curve") {
  const EllipseDomain e({0.5, -1.0}, {2.0, 0.5});
  Rng rng(2);
  const MatrixRM in = e.interior(20000, rng);
  int inner = 0;
  for (int r = 0; r < in.rows(); ++r) {
    CHECK(e.contains(&in(r, 0)));
    const double u = (in(r, 0) - 0.5) / 2.0, v = (in(r, 1) + 1.0) / 0.5;
    inner += u * u + v * v <= 0.25; // the half-size ellipse holds a quarter of the area
  }
  CHECK(inner / 20000.0 == Approx(0.25).margin(0.015));
  const MatrixRM bd = e.boundary(500, rng);
  for (int r = 0; r < bd.rows(); ++r) {
    const double u = (bd(r, 0) - 0.5) / 2.0, v = (bd(r, 1) + 1.0) / 0.5;
    CHECK(u * u + v * v == Approx(1.0).epsilon(1e-5));
  }
  CHECK(e.lo() == std::vector<double>{-1.5, -1.5});
  CHECK(e.hi() == std::vector<double>{2.5, -0.5});
}

TEST_CASE("points: space-time interior, boundary and initial points; a seed fixes them") {
  const SpaceTime st{
      std::make_shared<BoxDomain>(std::vector<double>{-1.0}, std::vector<double>{1.0}), 0.0, 10.0};
  Rng rng(3);
  const MatrixRM in = st.interior(1000, rng), bd = st.boundary(100, rng), t0 = st.initial(100, rng);
  CHECK(in.cols() == 2);
  CHECK(in.col(1).minCoeff() >= 0.0f);
  CHECK(in.col(1).maxCoeff() <= 10.0f);
  for (int r = 0; r < bd.rows(); ++r)
    CHECK(std::abs(bd(r, 0)) == 1.0f);
  CHECK((t0.col(1).array() == 0.0f).all());
  Rng a(9), b(9);
  CHECK(st.interior(10, a) == st.interior(10, b));
}

TEST_CASE("points: domains that are not domains are errors") {
  CHECK_THROWS_WITH(BoxDomain({0.0}, {0.0}), "[BoxDomain] axis 0: [0, 0] is empty");
  CHECK_THROWS_WITH(BoxDomain({0, 0, 0, 0}, {1, 1, 1, 1}),
                    "[BoxDomain] needs 1 to 3 dimensions, got 4");
  CHECK_THROWS_WITH(EllipseDomain({0.0, 0.0}, {1.0, -1.0}),
                    "[EllipseDomain] radius 1 must be > 0, got -1");
  CHECK_THROWS_WITH(EllipseDomain({0.0, 0.0}, {1.0}),
                    "[EllipseDomain] a centre of 2 coordinates but 1 radii");
}

TEST_CASE("points: a 2-D grid row by row, from the top") {
  const MatrixRM g = grid_2d(0.0, 1.0, 0.0, 2.0, 4);
  REQUIRE(g.rows() == 16);
  CHECK(g(0, 0) == Approx(0.125));
  CHECK(g(0, 1) == Approx(1.75));
  CHECK(g(3, 0) == Approx(0.875));
  CHECK(g(15, 1) == Approx(0.25));
}
