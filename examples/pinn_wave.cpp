// The wave equation of dnn101's pinns/wave_equation.py, in C++:
//   u_tt - c^2 u_xx = 0 on (-1, 1) x (0, 1), c = 2, u(+-1, t) = 0, u(x, 0) = sin(pi x),
//   u_t(x, 0) = 0,
// whose solution is the standing wave u = sin(pi x) cos(2 pi t). (The course's exact solution,
// sin(pi x + cos(pi x)) e^(-t), does not solve its equation; this one does.) A tanh network is
// trained with Adam on interior, boundary and initial points (the initial velocity through
// forward-mode u_t), then finished with L-BFGS; the result is the relative L2 error on a
// 100 x 100 grid.

#include <cmath>
#include <cstdio>
#include <numbers>

#include <CLI/CLI.hpp>

#include "examples/common/cli.h"
#include "examples/common/pinn.h"
#include "frontend/kiln.h"
#include "io/points.h"
#include "trainer/problem_trainer.h"

int main(int argc, char** argv) {
  using namespace kiln;
  constexpr double kPi = std::numbers::pi, kSpeed = 2.0;
  int interior = 512, boundary = 64, initial = 64, lbfgs = 5000, width = 32;
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 5000, .lr = 3e-3, .full_batch = true},
      "pinn_wave: u_tt - 4 u_xx = 0, a standing wave on (-1, 1) x (0, 1) (dnn101's wave "
      "equation). --epochs counts full-batch Adam iterations.",
      [&](CLI::App& app) {
        app.add_option("--interior", interior, "interior points")->capture_default_str();
        app.add_option("--lbfgs", lbfgs, "L-BFGS iterations after Adam")->capture_default_str();
        app.add_option("--width", width, "hidden width")->capture_default_str();
      });
  const std::string out = examples::prepare_out(o);

  const nn::Sequential net = examples::tanh_mlp(2, width, 3);
  auto u = [&](const Expr& p) { return net(concat(-1, column(p, 0), 2.0 * column(p, 1) - 1.0)); };
  Points pi(interior, {2}, "interior"), pb(boundary, {2}, "boundary"), p0(initial, {2}, "initial");
  const Expr ui = u(pi), u0 = u(p0);
  train::Problem p;
  p.terms = {{"residual", mean(square(d2(ui, pi, 1) - (kSpeed * kSpeed) * d2(ui, pi, 0)))},
             {"boundary", mean(square(u(pb))), 10.0},
             {"initial", mean(square(u0 - sin(kPi * column(p0, 0)))), 10.0},
             {"velocity", mean(square(d(u0, p0, 1))), 10.0}};
  Input<2> grid("grid");
  p.predictions = {{"u", u(grid)}};
  p.optimizer = std::make_shared<optim::Adam>(o.lr);

  const data::SpaceTime domain{
      std::make_shared<data::BoxDomain>(std::vector<double>{-1.0}, std::vector<double>{1.0}), 0.0,
      1.0};
  auto draw = [&](Rng& rng) {
    return PointValues{{"interior", domain.interior(interior, rng)},
                       {"boundary", domain.boundary(boundary, rng)},
                       {"initial", domain.initial(initial, rng)}};
  };
  ProblemTrainer trainer(p);
  const auto [h, r] = examples::adam_then_lbfgs(trainer, draw, o, lbfgs);
  examples::plot_terms(out + "pinn_wave_loss.png", "wave equation: loss per 100 Adam iterations",
                       h);
  const examples::Field fld = examples::field(-1.0, 1.0, 0.0, 1.0, 100);
  const MatrixRM uh = trainer.predict({{"grid", fld.points}}).at("u");
  const double rel = examples::compare(
      fld, uh, [&](float xv, float tv) { return std::sin(kPi * xv) * std::cos(kSpeed * kPi * tv); },
      out + "pinn_wave", "wave equation");
  std::printf("pinn_wave: %d Adam iterations, %d L-BFGS iterations (%s), plots in %s\n", o.epochs,
              r.iterations, r.stop.c_str(), out.c_str());
  examples::print_result({{"rel_l2", rel},
                          {"loss", r.loss},
                          {"lbfgs_iterations", r.iterations},
                          {"train_time_s", h.train_time_s + r.seconds},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
