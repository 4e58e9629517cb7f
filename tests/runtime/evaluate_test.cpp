// The fused evaluation (Executable::evaluate): a whole data set's metrics in one call, equal to
// the kernel run over all rows at once, on the row-block path and the group-by-group path.

#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/rng.h"
#include "frontend/kiln.h"
#include "runtime/cpu/evaluate_chunks.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/executable.h"

using namespace kiln;

namespace {

/** An evaluation graph: loss and accuracy of `net` on inputs y [N, 2] and labels c. */
Lowered classifier(const nn::Layer& net) {
  Input y{{2}, "y"};
  Labels c{3, "c"};
  return lower({{"loss", cross_entropy(net(y), c)}, {"acc", accuracy(net(y), c)}});
}

/** The course's 2-14-10-3 classifier and a 2-96-96-3 one (group-by-group path). */
const nn::Sequential& small_net() {
  static const nn::Sequential net{nn::Linear(2, 14), nn::Tanh(), nn::Linear(14, 10), nn::Sigmoid(),
                                  nn::Linear(10, 3)};
  return net;
}
const nn::Sequential& wide_net() {
  static const nn::Sequential net{nn::Linear(2, 96), nn::Tanh(), nn::Linear(96, 96), nn::Tanh(),
                                  nn::Linear(96, 3)};
  return net;
}

/** n random points in [-2, 2]^2 and labels in [0, 3). */
struct Points {
  MatrixRM y;
  Eigen::VectorXi c;
};
Points random_points(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Points p{MatrixRM(n, 2), Eigen::VectorXi(n)};
  for (int64_t i = 0; i < n; ++i) {
    p.y(i, 0) = static_cast<float>(rng.uniform(-2, 2));
    p.y(i, 1) = static_cast<float>(rng.uniform(-2, 2));
    p.c(i) = static_cast<int>(rng.below(3));
  }
  return p;
}

} // namespace

TEST_CASE("the fused evaluation equals one run over every row") {
  const nn::Sequential &small = small_net(), &wide = wide_net();
  for (const nn::Sequential* net : {&small, &wide}) {
    const Lowered l = classifier(*net);
    Executable exe = Executable::compile(
        l.graph, {.name = "eval", .evaluate = codegen::EpochSpec{{"y", "c"}, {"loss", "acc"}}});
    exe.set_params(init_parameters(l.params, 2, ir::DType::F64));
    for (int64_t n : {1, 7, 300, 2500}) {
      INFO("net width " << (net == &small ? 14 : 96) << ", " << n << " rows");
      const auto [y, c] = random_points(n, static_cast<uint64_t>(n));
      const std::vector<double> fused = exe.evaluate(n, {y.data(), c.data()});
      const auto whole = exe.run({{"y", y}, {"c", c}});
      REQUIRE(fused.size() == 2);
      CHECK(fused[0] == Approx(whole.at("loss")(0, 0)).epsilon(1e-5));
      CHECK(fused[1] == Approx(whole.at("acc")(0, 0)).epsilon(1e-6));
    }
  }
}

TEST_CASE("a large set's fused evaluation splits over threads with the same result on any number") {
  const nn::Sequential &small = small_net(), &wide = wide_net();
  runtime::ThreadPool& pool = runtime::ThreadPool::instance();
  const int saved = pool.threads();
  for (const nn::Sequential* net : {&small, &wide}) {
    const Lowered l = classifier(*net);
    Executable exe = Executable::compile(
        l.graph, {.name = "eval", .evaluate = codegen::EpochSpec{{"y", "c"}, {"loss", "acc"}}});
    exe.set_params(init_parameters(l.params, 3, ir::DType::F64));
    // Three chunks and a part: the split path, not one call.
    const int64_t chunk = runtime::evaluate_chunk_rows(exe.kernel().schedule);
    const int64_t n = 3 * chunk + chunk / 2;
    INFO("net width " << (net == &small ? 14 : 96) << ", chunks of " << chunk << " rows");
    REQUIRE(chunk % 256 == 0);
    const auto [y, c] = random_points(n, 5);
    std::vector<std::vector<double>> got;
    for (int threads : {1, 2, 3}) {
      pool.set_threads(threads);
      got.push_back(exe.evaluate(n, {y.data(), c.data()}));
    }
    pool.set_threads(saved);
    CHECK(got[1] == got[0]); // bit for bit
    CHECK(got[2] == got[0]);
    const auto whole = exe.run({{"y", y}, {"c", c}});
    CHECK(got[0][0] == Approx(whole.at("loss")(0, 0)).epsilon(1e-5));
    CHECK(got[0][1] == Approx(whole.at("acc")(0, 0)).epsilon(1e-6));
  }
  // Far fewer rows than a chunk for the course's network: its 2000-row sets stay one call.
  CHECK(runtime::evaluate_chunk_rows(
            Executable::compile(classifier(small).graph, {.name = "eval"}).kernel().schedule) >
        2000);
}

TEST_CASE("the fused evaluation checks its data and labels") {
  const Lowered l = classifier(nn::Sequential{nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 3)});
  MatrixRM y = MatrixRM::Zero(4, 2);
  Eigen::VectorXi c(4);
  c << 0, 1, 2, 3;
  Executable plain = Executable::compile(l.graph);
  CHECK_THROWS_WITH(plain.evaluate(4, {y.data(), c.data()}),
                    Catch::Contains("compiled without CompileOptions::evaluate"));
  Executable exe = Executable::compile(
      l.graph, {.name = "eval", .evaluate = codegen::EpochSpec{{"y", "c"}, {"loss"}}});
  CHECK_THROWS_WITH(exe.evaluate(4, {y.data()}), Catch::Contains("2 data arrays expected"));
  CHECK_THROWS_AS(exe.evaluate(4, {y.data(), c.data()}), DataError); // the label 3
  c(3) = 2;
  CHECK(std::isfinite(exe.evaluate(4, {y.data(), c.data()})[0]));
}
