// The API's edges, where a mistake used to go through without a word: a misspelled input, a
// transposed weight, f64 outputs rounded to float, vectors that came back as rows from param()
// and as columns from run(), and an epoch over rows that disagree or labels out of range.

#include <catch2/catch.hpp>

#include "frontend/kiln.h"
#include "runtime/executable.h"
#include "train/problem.h"

using namespace kiln;
using Catch::Matchers::Contains;

namespace {

Lowered classifier() {
  nn::Sequential net{nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 3)};
  Input y{{2}, "y"};
  Labels c{3, "c"};
  return lower({{"loss", cross_entropy(net(y), c)}, {"F", net(y)}});
}

/** The Trainer's step of a 2-4-3 classifier, with its fused epoch over "y" and "c". */
Executable epoch_step() {
  const train::ProblemGraphs g = train::build(
      train::supervised(nn::Sequential{nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 3)}, 2, 3,
                        Loss::cross_entropy(), std::make_shared<optim::SGD>(0.1)));
  Executable e = Executable::compile(
      g.step->graph, {.name = "step", .updates = g.step->updates, .epoch = g.epoch});
  e.set_params(init_parameters(g.params, 1, ir::DType::F64));
  return e;
}

} // namespace

TEST_CASE("run refuses an input name the graph does not have") {
  const Lowered l = classifier();
  Executable exe = Executable::compile(l.graph);
  const MatrixRM y = MatrixRM::Zero(3, 2);
  Eigen::VectorXi c(3);
  c << 0, 1, 2;
  CHECK_NOTHROW(exe.run({{"y", y}, {"c", c}}));
  CHECK_THROWS_WITH(exe.run({{"y", y}, {"c", c}, {"Y", y}}),
                    "[Executable] 'Y' was fed, but the graph has no input of that name; its "
                    "inputs are: y, c");
}

TEST_CASE("an input the passes removed may still be fed") {
  Input y{{2}, "y"}, unused{{2}, "unused"};
  Param<3, 2> W("W");
  const Lowered l = lower({{"F", W * y + 0.0 * sum(unused)}});
  Executable exe = Executable::compile(l.graph);
  const MatrixRM v = MatrixRM::Ones(2, 2);
  CHECK_NOTHROW(exe.run({{"y", v}, {"unused", v}}));
}

TEST_CASE("set_param refuses a transposed matrix of the same size") {
  const Lowered l = classifier();
  Executable exe = Executable::compile(l.graph);
  const MatrixRM w = exe.param("0.weight");
  REQUIRE(w.rows() == 4);
  REQUIRE(w.cols() == 2);
  const MatrixRM wt = w.transpose();
  CHECK_THROWS_WITH(exe.set_param("0.weight", wt),
                    "[Executable] param '0.weight' is f32[4,2] but a 2x4 matrix was given (it "
                    "takes 4x2)");
  CHECK_THROWS_AS(exe.set_param("0.weight", ir::Tensor(ir::DType::F32, {2, 4})), ShapeError);
  CHECK_NOTHROW(exe.set_param("0.weight", w));
}

TEST_CASE("a vector comes back as a column from param() and from run()") {
  Input y{{2}, "y"};
  Param<3> b("b");
  Param<3, 2> W("W");
  const Lowered l = lower({{"F", W * y + b}, {"b_out", b * 2.0}});
  Executable exe = Executable::compile(l.graph);
  const MatrixRM col = (MatrixRM(3, 1) << 1, 2, 3).finished();
  exe.set_param("b", col);
  const MatrixRM got = exe.param("b");
  CHECK(got.rows() == 3);
  CHECK(got.cols() == 1);
  CHECK(got == col);
  const MatrixRM y0 = MatrixRM::Zero(1, 2);
  const auto out = exe.run({{"y", y0}});
  CHECK(out.at("b_out").rows() == got.rows());
  CHECK(out.at("b_out").cols() == got.cols());
  CHECK(out.at("b_out") == 2 * col);
  // A vector has no orientation to get wrong: a row sets it too.
  exe.set_param("b", col.transpose());
  CHECK(exe.param("b") == col);
}

TEST_CASE("run on an f64 graph refuses to round, and run_f64 keeps the doubles") {
  Input y{{1}, "y"};
  Param<1, 1> w("w");
  const Lowered l = lower({{"F", w * y}}, ir::DType::F64);
  Executable exe = Executable::compile(l.graph);
  exe.set_param("w", ir::Tensor(ir::DType::F64, {1, 1}, {1.0}));
  MatrixRMd x(1, 1);
  x(0, 0) = 1.0 + 1e-12; // rounds to 1 in float
  CHECK_THROWS_WITH(exe.run({{"y", x}}),
                    "[Executable] run: output 'F' is f64[N,1], which float matrices would round; "
                    "use run_f64()");
  const auto out = exe.run_f64({{"y", x}});
  CHECK(out.at("F")(0, 0) == 1.0 + 1e-12);
}

TEST_CASE("run_epoch checks the epoch's data before the kernel runs") {
  Executable step = epoch_step();
  const MatrixRM x = MatrixRM::Random(200, 2), lr = MatrixRM::Constant(1, 1, 0.1f);
  Eigen::VectorXi labels = Eigen::VectorXi::Zero(200);
  CHECK(step.run_epoch(10, true, 1, {{"y", x}, {"c", labels}}, {{"lr", lr}}).size() == 2);

  const Eigen::VectorXi short_labels = Eigen::VectorXi::Zero(20);
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", x}, {"c", short_labels}}, {{"lr", lr}}),
                    "[Executable] run_epoch: the epoch's data disagree on the sample count: 'y' "
                    "has 200 rows, 'c' has 20");
  const MatrixRM wide = MatrixRM::Zero(200, 3);
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", wide}, {"c", labels}}, {{"lr", lr}}),
                    "[Executable] run_epoch: input 'y' expects f32[N,2], got a f32 200x3 matrix");
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", x}}, {{"lr", lr}}),
                    "[Executable] run_epoch: no data for the epoch's input 'c'");
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", x}, {"c", labels}, {"lr", lr}}, {}),
                    "[Executable] run_epoch: 'lr' is not one of the epoch's data inputs");
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", x}, {"c", labels}}, {{"lr", lr}, {"y", x}}),
                    "[Executable] 'y' was fed, but it is the epoch's data, which run_epoch takes "
                    "apart; its inputs are: y, c, lr");

  labels(123) = 1000000; // would index far outside the weights
  CHECK_THROWS_WITH(step.run_epoch(10, true, 1, {{"y", x}, {"c", labels}}, {{"lr", lr}}),
                    "[Executable] run_epoch: labels 'c' hold 1000000 at row 123, outside [0, 3)");
  labels(123) = -1;
  CHECK_THROWS_WITH(step.run_epoch(200, 10, true, 1, {x.data(), labels.data()}, {{"lr", lr}}),
                    "[Executable] run_epoch: labels 'c' hold -1 at row 123, outside [0, 3)");
}
