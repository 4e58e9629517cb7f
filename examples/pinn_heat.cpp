// The heat equation of dnn101's pinns/heat_equation.py, in C++:
//   u_t - u_xx = f on (-1, 1) x (0, 10), u(+-1, t) = 0, u(x, 0) = e^(1 - x^2) - 1,
// with the exact solution u = (e^(1 - x^2) - 1) (t + 1)^(-1/2). The source term is derived here
// from that solution: f = u_t - u_xx = -(1/2)(e^(1-x^2) - 1)(t+1)^(-3/2)
//                                      - (4x^2 - 2) e^(1-x^2) (t+1)^(-1/2)
// (the course's code has (-2 + 4x) for the second derivative and drops the 1/2 of u_t).
// A 2-32-32-32-1 tanh network is trained with Adam on interior, boundary and initial points, then
// finished with L-BFGS; the result is the relative L2 error on a 100 x 100 grid.

#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "examples/common/cli.h"
#include "examples/common/pinn.h"
#include "frontend/kiln.h"
#include "io/points.h"
#include "trainer/problem_trainer.h"

int main(int argc, char** argv) {
  using namespace kiln;
  int interior = 256, boundary = 64, initial = 64, lbfgs = 3000, width = 32;
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 5000, .lr = 3e-3, .full_batch = true},
      "pinn_heat: u_t - u_xx = f on (-1, 1) x (0, 10) with a 2-32-32-32-1 tanh network "
      "(dnn101's heat equation). --epochs counts full-batch Adam iterations.",
      [&](CLI::App& app) {
        app.add_option("--interior", interior, "interior points")->capture_default_str();
        app.add_option("--boundary", boundary, "boundary points (x = -1, 1)")
            ->capture_default_str();
        app.add_option("--initial", initial, "initial points (t = 0)")->capture_default_str();
        app.add_option("--lbfgs", lbfgs, "L-BFGS iterations after Adam")->capture_default_str();
        app.add_option("--width", width, "hidden width")->capture_default_str();
      });
  const std::string out = examples::prepare_out(o);

  const nn::Sequential net = examples::tanh_mlp(2, width, 3);
  // The network sees t scaled to [-1, 1]; derivatives go through the scaling.
  auto u = [&](const Expr& p) { return net(concat(-1, column(p, 0), (column(p, 1) - 5.0) / 5.0)); };
  Points pi(interior, {2}, "interior"), pb(boundary, {2}, "boundary"), p0(initial, {2}, "initial");
  const Expr x = column(pi, 0), t = column(pi, 1);
  const Expr bump = exp(1.0 - square(x)) - 1.0;
  const Expr f = -0.5 * mul(bump, pow(t + 1.0, -1.5)) -
                 mul(mul(4.0 * square(x) - 2.0, exp(1.0 - square(x))), pow(t + 1.0, -0.5));
  const Expr ui = u(pi);
  const Expr x0 = column(p0, 0);
  train::Problem p;
  p.terms = {{"residual", mean(square(d(ui, pi, 1) - d2(ui, pi, 0) - f))},
             {"boundary", mean(square(u(pb)))},
             {"initial", mean(square(u(p0) - (exp(1.0 - square(x0)) - 1.0)))}};
  Input<2> grid("grid");
  p.predictions = {{"u", u(grid)}};
  p.optimizer = std::make_shared<optim::Adam>(o.lr);

  const data::SpaceTime domain{
      std::make_shared<data::BoxDomain>(std::vector<double>{-1.0}, std::vector<double>{1.0}), 0.0,
      10.0};
  auto draw = [&](Rng& rng) {
    return PointValues{{"interior", domain.interior(interior, rng)},
                       {"boundary", domain.boundary(boundary, rng)},
                       {"initial", domain.initial(initial, rng)}};
  };
  ProblemTrainer trainer(p);
  const auto [h, r] = examples::adam_then_lbfgs(trainer, draw, o, lbfgs);
  examples::plot_terms(out + "pinn_heat_loss.png", "heat equation: loss per 100 Adam iterations",
                       h);

  const examples::Field grid_field = examples::field(-1.0, 1.0, 0.0, 10.0, 100);
  const MatrixRM uh = trainer.predict({{"grid", grid_field.points}}).at("u");
  const double rel = examples::compare(
      grid_field, uh,
      [](float xv, float tv) { return (std::exp(1.0 - xv * xv) - 1.0) / std::sqrt(tv + 1.0); },
      out + "pinn_heat", "heat equation");
  std::printf("pinn_heat: %d Adam iterations, %d L-BFGS iterations (%s), plots in %s\n", o.epochs,
              r.iterations, r.stop.c_str(), out.c_str());
  examples::print_result({{"rel_l2", rel},
                          {"loss", r.loss},
                          {"adam_loss", h.epochs.empty() ? NAN : h.epochs.back().running_loss},
                          {"lbfgs_iterations", r.iterations},
                          {"train_time_s", h.train_time_s + r.seconds},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
