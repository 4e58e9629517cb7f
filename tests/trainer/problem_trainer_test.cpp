// ProblemTrainer: point sets of different sizes in one fused step, weighted loss terms in the
// history, L-BFGS after Adam, and the physics-informed problem it exists for.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numbers>

#include "base/error.h"
#include "frontend/kiln.h"
#include "io/points.h"
#include "io/safetensors.h"
#include "ir/interpret.h"
#include "ir/passes.h"
#include "tests/support/temp_dir.h"
#include "trainer/problem_trainer.h"

using namespace kiln;

namespace {

constexpr double kPi = std::numbers::pi;

/**
 * u'' = -pi^2 sin(pi x) on (0, 1), u(0) = u(1) = 0, whose solution is sin(pi x): 24 interior
 * points and 2 boundary points, a 1-16-16-1 tanh network.
 */
struct Poisson1d {
  nn::Sequential net{nn::Linear(1, 16), nn::Tanh(), nn::Linear(16, 16), nn::Tanh(),
                     nn::Linear(16, 1)};
  Points interior{24, {1}, "interior"}, boundary{2, {1}, "boundary"};
  Input<1> grid{"grid"};
  data::BoxDomain domain{{0.0}, {1.0}};

  train::Problem problem(double lr = 1e-2, bool sgd = false) {
    train::Problem p;
    const Expr u = net(interior);
    const Expr f = -kPi * kPi * sin(kPi * interior);
    p.terms = {{"residual", mean(square(d2(u, interior, 0) - f))},
               {"boundary", mean(square(net(boundary))), 10.0}};
    p.predictions = {{"u", net(grid)}};
    p.optimizer = sgd ? std::shared_ptr<optim::Optimizer>(std::make_shared<optim::SGD>(lr))
                      : std::make_shared<optim::Adam>(lr);
    return p;
  }
  PointValues draw(Rng& rng) const {
    return {{"interior", domain.interior(24, rng)}, {"boundary", domain.boundary(2, rng)}};
  }
};

} // namespace

TEST_CASE("ProblemTrainer: point sets of 24 and 2 rows in one step; Adam, then L-BFGS") {
  Poisson1d pde;
  ProblemTrainer t(pde.problem());
  auto draw = [&](Rng& rng) { return pde.draw(rng); };
  const History h = t.fit(
      draw,
      {.iterations = 600, .resample_every = 50, .log_every = 100, .seed = 3, .progress = false});
  REQUIRE(h.epochs.size() == 6);
  CHECK(h.epochs.back().running_loss < 0.1 * h.epochs.front().running_loss);
  REQUIRE(h.epochs.back().terms.size() == 2);
  CHECK(h.epochs.back().terms[0].first == "residual");
  CHECK(h.epochs.back().terms[1].first == "boundary");
  CHECK(t.iterations_done() == 600);

  const double before = t.evaluate(pde.draw(*std::make_unique<Rng>(11)))[0].second;
  const LbfgsReport r = t.lbfgs(draw, {.max_iterations = 300});
  INFO("L-BFGS stopped on " << r.stop << " after " << r.iterations << " iterations, loss "
                            << r.loss);
  CHECK(r.iterations > 10);
  CHECK(r.loss < 1e-3);
  CHECK(r.terms.size() == 3); // loss, residual, boundary
  CHECK(t.evaluate(pde.draw(*std::make_unique<Rng>(11)))[0].second < before);

  // The network now solves the equation: close to sin(pi x) everywhere in [0, 1].
  MatrixRM xs(101, 1);
  for (int i = 0; i <= 100; ++i)
    xs(i, 0) = static_cast<float>(i / 100.0);
  const MatrixRM u = t.predict({{"grid", xs}}).at("u");
  double err = 0, norm = 0;
  for (int i = 0; i <= 100; ++i) {
    const double exact = std::sin(kPi * xs(i, 0));
    err += (u(i, 0) - exact) * (u(i, 0) - exact);
    norm += exact * exact;
  }
  CHECK(std::sqrt(err / norm) < 2e-2);
}

TEST_CASE("ProblemTrainer: the fused step's loss terms are the interpreter's") {
  Poisson1d pde;
  train::Problem p = pde.problem();
  ProblemTrainer t(p);
  Rng rng(5);
  const PointValues pts = pde.draw(rng);
  t.fit([&](Rng&) { return pts; }, {.iterations = 1, .seed = 2, .progress = false});
  const auto got = t.evaluate(pts);
  // The same problem's evaluation graph in f64, at the weights the trainer holds.
  const train::ProblemGraphs g = train::build(p);
  ir::Bindings at;
  for (const std::string& name : t.param_names()) {
    const MatrixRM m = t.param(name);
    ir::Tensor v(ir::DType::F32, {m.size()});
    for (int64_t i = 0; i < m.size(); ++i)
      v[i] = m.data()[i];
    at.emplace(name, v);
  }
  for (const auto& [name, m] : pts) {
    ir::Tensor v(ir::DType::F32, {m.rows(), m.cols()});
    for (int64_t i = 0; i < m.size(); ++i)
      v[i] = m.data()[i];
    at.emplace(name, v);
  }
  const ir::Graph eval = ir::optimize(g.eval);
  for (const auto& [name, value] : got) {
    INFO(name);
    // Param shapes as the graph declares them.
    ir::Bindings typed;
    for (const auto& [leaf, v] : at) {
      auto id = eval.find_leaf(ir::Op::Param, leaf);
      if (!id)
        id = eval.find_leaf(ir::Op::Input, leaf);
      if (!id)
        continue;
      typed.emplace(leaf, ir::Tensor(v.dtype, eval.node(*id).type.shape.concrete(1), v.data));
    }
    const double want =
        ir::interpret_node(eval, eval.output(name == "loss" ? "loss" : "loss:" + name), typed)[0];
    CHECK(value == Approx(want).epsilon(1e-4));
  }
}

TEST_CASE("ProblemTrainer: errors name what is missing") {
  Poisson1d pde;
  ProblemTrainer t(pde.problem());
  CHECK_THROWS_WITH(
      t.fit([](Rng&) { return PointValues{}; }, {.iterations = 1, .progress = false}),
      "[ProblemTrainer] the points give no input 'interior' (the problem's inputs: interior, "
      "boundary, lr)");
  train::Problem none;
  CHECK_THROWS_WITH(ProblemTrainer(none), "[ProblemTrainer] the problem has no optimizer");
  ProblemTrainer fresh(pde.problem());
  CHECK_THROWS_WITH(fresh.predict({}),
                    "[ProblemTrainer] predict() before fit(): the problem is not compiled yet");
  // A NaN point is named, not blamed on the learning rate, and no step is taken.
  ProblemTrainer nan_points(pde.problem());
  auto with_nan = [&](Rng& rng) {
    PointValues v = pde.draw(rng);
    v.at("boundary")(1, 0) = std::numeric_limits<float>::quiet_NaN();
    return v;
  };
  CHECK_THROWS_AS(nan_points.fit(with_nan, {.iterations = 1, .progress = false}), DataError);
  CHECK_THROWS_WITH(
      nan_points.fit(with_nan, {.iterations = 1, .progress = false}),
      "[ProblemTrainer] points 'boundary': (1, 0) is nan; every point must be finite");
  CHECK(nan_points.iterations_done() == 0);
  Rng rng(1, 1);
  PointValues inf_points = pde.draw(rng);
  inf_points.at("interior")(5, 0) = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(
      nan_points.evaluate(inf_points),
      "[ProblemTrainer] points 'interior': (5, 0) is inf; every point must be finite");
  // A learning rate that diverges: the weights come back.
  Poisson1d wild;
  ProblemTrainer w(wild.problem(1e3, true));
  CHECK_THROWS_AS(w.fit([&](Rng& rng) { return wild.draw(rng); },
                        {.iterations = 2000, .log_every = 1000, .progress = false}),
                  TrainingError);
}

namespace {

void check_same_params(const ProblemTrainer& a, const ProblemTrainer& b) {
  REQUIRE(a.param_names() == b.param_names());
  for (const std::string& p : a.param_names()) {
    INFO(p);
    CHECK(a.param(p) == b.param(p)); // the same kernels on the same values: bit for bit
  }
}

} // namespace

TEST_CASE("ProblemTrainer: a run resumed from a checkpoint, or split over fit() calls, is the "
          "uninterrupted run") {
  const test::TempDir dir("problem-ckpt");
  const IterateOptions o{
      .iterations = 300, .resample_every = 50, .log_every = 100, .seed = 3, .progress = false};
  Poisson1d pa, pb, pc;
  auto draw = [&](Rng& rng) { return pa.draw(rng); };
  ProblemTrainer whole(pa.problem());
  whole.fit(draw, o);

  // 200 iterations, saving after every log interval, then 100 more in the same trainer...
  ProblemTrainer split(pb.problem());
  IterateOptions first = o;
  first.iterations = 200;
  first.checkpoint = dir.file("pinn.safetensors");
  split.fit(draw, first);
  IterateOptions rest = o;
  rest.iterations = 100;
  split.fit(draw, rest);
  CHECK(split.iterations_done() == 300);
  check_same_params(split, whole);

  // ... or in a new process's trainer that loads the checkpoint before its first fit().
  ProblemTrainer resumed(pc.problem());
  resumed.load(first.checkpoint);
  CHECK(resumed.iterations_done() == 200);
  resumed.fit(draw, rest);
  CHECK(resumed.iterations_done() == 300);
  check_same_params(resumed, whole);

  // Loading into a compiled trainer takes it back to the checkpoint.
  resumed.load(first.checkpoint);
  CHECK(resumed.iterations_done() == 200);
  resumed.fit(draw, rest);
  check_same_params(resumed, whole);
}

TEST_CASE("ProblemTrainer: a bad checkpoint is named and changes nothing") {
  const test::TempDir dir("problem-ckpt-bad");
  Poisson1d pde;
  ProblemTrainer t(pde.problem());
  CHECK_THROWS_WITH(t.save(dir.file("early.safetensors")),
                    "[ProblemTrainer] save() before fit(): there are no weights yet");
  auto draw = [&](Rng& rng) { return pde.draw(rng); };
  t.fit(draw, {.iterations = 10, .log_every = 5, .seed = 1, .progress = false});
  const std::string good = dir.file("good.safetensors");
  t.save(good);
  const Safetensors file = load_safetensors(good);
  CHECK(file.tensors.at("points.interior").shape == std::vector<int64_t>{24, 1});
  CHECK(file.tensors.at("0.weight").shape == std::vector<int64_t>{16, 1});
  CHECK(file.metadata.at("iterations_done") == "10");

  auto write = [&](const std::string& name, Safetensors f) {
    save_safetensors(dir.file(name), f.tensors, f.metadata);
    return dir.file(name);
  };
  const MatrixRM before = t.param("0.weight");
  t.fit(draw, {.iterations = 5, .log_every = 5, .progress = false});
  const MatrixRM after = t.param("0.weight");
  REQUIRE(after != before);

  Safetensors no_points = file;
  no_points.tensors.erase("points.interior");
  no_points.tensors.erase("points.boundary");
  CHECK_THROWS_WITH(t.load(write("no-points.safetensors", no_points)),
                    Catch::Contains("no point sets (tensors 'points.<name>')"));
  Safetensors bad_rng = file;
  bad_rng.metadata["sampler_rng"] = "seven";
  CHECK_THROWS_WITH(t.load(write("bad-rng.safetensors", bad_rng)),
                    Catch::Contains("metadata sampler_rng is 'seven'"));
  Safetensors nan_point = file;
  nan_point.tensors.at("points.boundary") =
      HostTensor::of<float>({2, 1}, std::vector<float>{0.f, std::nanf("")});
  CHECK_THROWS_WITH(t.load(write("nan-point.safetensors", nan_point)),
                    Catch::Contains("tensor 'points.boundary' holds nan at index 1"));
  Safetensors wide = file;
  wide.tensors.at("0.weight") = HostTensor::of<float>({8, 1}, std::vector<float>(8, 0.f));
  CHECK_THROWS_AS(t.load(write("wide.safetensors", wide)), DataError);
  CHECK_THROWS_WITH(t.load(dir.file("wide.safetensors")),
                    Catch::Contains("tensor '0.weight' is [8, 1], the network needs [16, 1]"));
  // Nothing was applied by the loads that threw.
  CHECK(t.param("0.weight") == after);
  CHECK(t.iterations_done() == 15);
  t.load(good);
  CHECK(t.param("0.weight") == before);
  CHECK(t.iterations_done() == 10);
}
