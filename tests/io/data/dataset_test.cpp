#include "io/dataset.h"

#include "error_text.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using kiln::data::Dataset;
using kiln::test::data_error_of;

namespace {

// Row i holds i in x and in its label, so every part of a split says where its rows came from.
Dataset numbered(int n, bool classification) {
  Dataset d;
  d.x.resize(n, 2);
  for (int i = 0; i < n; ++i)
    d.x.row(i) << static_cast<float>(i), static_cast<float>(-i);
  if (classification) {
    d.num_classes = n;
    d.labels = Eigen::VectorXi::LinSpaced(n, 0, n - 1);
  } else {
    d.y = d.x.col(0).eval() * 2.0f;
  }
  return d;
}

std::vector<int> origins(const Dataset& d) {
  std::vector<int> rows;
  for (int i = 0; i < d.rows(); ++i)
    rows.push_back(static_cast<int>(d.x(i, 0)));
  return rows;
}

} // namespace

TEST_CASE("subset: picks rows of x, y and labels in the given order", "[data]") {
  const Dataset reg = numbered(6, false);
  const Dataset s = reg.subset({4, 1, 4});
  REQUIRE(s.rows() == 3);
  CHECK(origins(s) == std::vector<int>{4, 1, 4});
  CHECK(s.y(1, 0) == 2.0f);
  CHECK(s.labels.size() == 0);
  const Dataset cls = numbered(6, true).subset({5, 0});
  CHECK(cls.labels(0) == 5);
  CHECK(cls.labels(1) == 0);
  CHECK(cls.num_classes == 6);
  CHECK(data_error_of([&] {
          reg.subset({0, 6});
        }) == "[dataset] subset: index 6 at position 1 is out of range [0, 6)");
}

TEST_CASE("split: sizes, disjoint parts that cover the set, labels follow their rows", "[data]") {
  const Dataset d = numbered(1000, true);
  const kiln::data::Split s = kiln::data::split(d, 0.7, 0.15, 42);
  CHECK(s.train.rows() == 700);
  CHECK(s.val.rows() == 150);
  CHECK(s.test.rows() == 150);
  std::set<int> all;
  for (const Dataset* part : {&s.train, &s.val, &s.test})
    for (int i = 0; i < part->rows(); ++i) {
      all.insert(static_cast<int>(part->x(i, 0)));
      CHECK(part->labels(i) == static_cast<int>(part->x(i, 0)));
      CHECK(part->x(i, 1) == -part->x(i, 0));
    }
  CHECK(all.size() == 1000); // disjoint, since the sizes add up to 1000
  // Shuffled: the training part is not the first 700 rows.
  const std::vector<int> train_rows = origins(s.train);
  CHECK(*std::max_element(train_rows.begin(), train_rows.end()) >= 700);
}

TEST_CASE("split: the seed decides the permutation", "[data]") {
  const Dataset d = numbered(97, false);
  const kiln::data::Split a = kiln::data::split(d, 0.8, 0.1, 1);
  const kiln::data::Split b = kiln::data::split(d, 0.8, 0.1, 1);
  const kiln::data::Split c = kiln::data::split(d, 0.8, 0.1, 2);
  CHECK(origins(a.train) == origins(b.train));
  CHECK(origins(a.test) == origins(b.test));
  CHECK(origins(a.train) != origins(c.train));
  CHECK(a.train.rows() == 77); // floor(0.8 · 97)
  CHECK(a.val.rows() == 9);    // floor(0.1 · 97)
  CHECK(a.test.rows() == 11);
  CHECK(a.train.y(3, 0) == 2.0f * a.train.x(3, 0));
  // All for training is allowed: the other parts are empty.
  const kiln::data::Split all = kiln::data::split(d, 1.0, 0.0, 3);
  CHECK(all.train.rows() == 97);
  CHECK(all.val.rows() == 0);
  CHECK(all.test.rows() == 0);
}

TEST_CASE("split: fractions are checked", "[data][errors]") {
  const Dataset d = numbered(10, false);
  CHECK(data_error_of([&] { kiln::data::split(d, 0.8, 0.3, 1); }) ==
        "[split] train and val are fractions of the data set: each in [0, 1] and summing to at "
        "most 1; got train 0.8, val 0.3");
  CHECK(data_error_of([&] { kiln::data::split(d, -0.1, 0.3, 1); }) ==
        "[split] train and val are fractions of the data set: each in [0, 1] and summing to at "
        "most 1; got train -0.1, val 0.3");
  CHECK(data_error_of([&] { kiln::data::split(d, 0.05, 0.3, 1); }) ==
        "[split] train fraction 0.05 of 10 rows leaves the training set empty");
}

TEST_CASE("normalize_channels standardizes each channel plane of every row", "[data]") {
  kiln::data::Dataset d;
  d.x.resize(2, 6); // 2 samples of 2 channels of 3 pixels
  d.x << 0, 1, 2, 10, 20, 30, 3, 4, 5, 40, 50, 60;
  kiln::data::normalize_channels(d, {1.0, 20.0}, {2.0, 10.0});
  kiln::MatrixRM want(2, 6);
  want << -0.5, 0, 0.5, -1, 0, 1, 1, 1.5, 2, 2, 3, 4;
  CHECK(d.x.isApprox(want));
  CHECK_THROWS_WITH(kiln::data::normalize_channels(d, {0.0}, {}),
                    Catch::Contains("[normalize] needs one mean and one stddev per channel, got 1 "
                                    "means and 0 stddevs"));
  CHECK_THROWS_WITH(kiln::data::normalize_channels(d, {0, 0, 0, 0}, {1, 1, 1, 1}),
                    Catch::Contains("[normalize] rows of 6 values do not split into 4 channels"));
  CHECK_THROWS_AS(kiln::data::normalize_channels(d, {0.0}, {0.0}), kiln::DataError);
  CHECK_THROWS_WITH(kiln::data::normalize_channels(d, {0.0}, {0.0}),
                    Catch::Contains("[normalize] a stddev must be positive, got 0"));
}
