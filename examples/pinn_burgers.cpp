// Burgers' equation of dnn101's pinns/burgers_equation.py, in C++, learning its viscosity c:
//   u_t + u u_x - c u_xx = f on (-1, 1) x (0, 2), u(+-1, t) = 0, u(x, 0) = sin(pi x),
// with the exact solution u = e^(-t) sin(pi x) for c = 0.1 / pi, so that
//   f = -u + pi e^(-t) cos(pi x) u + c pi^2 u.
// c is a learnable scalar that starts at 1 (as in the course). The PDE with its boundary and
// initial values holds for a solution u_c of any c, so c can only be learned from data: the
// problem has a fourth term, observations of u at points inside the domain. The result is the
// learned c and the relative L2 error of u on a 100 x 100 grid.

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
  constexpr double kPi = std::numbers::pi, kC = 0.1 / std::numbers::pi;
  int interior = 512, boundary = 64, initial = 64, observed = 200, lbfgs = 2000, width = 32;
  const examples::Options o = examples::parse_options(
      argc, argv, {.epochs = 5000, .lr = 3e-3, .full_batch = true},
      "pinn_burgers: u_t + u u_x - c u_xx = f, learning c from observations of u (dnn101's "
      "Burgers equation). --epochs counts full-batch Adam iterations.",
      [&](CLI::App& app) {
        app.add_option("--interior", interior, "interior points")->capture_default_str();
        app.add_option("--observed", observed, "points where u is observed")->capture_default_str();
        app.add_option("--lbfgs", lbfgs, "L-BFGS iterations after Adam")->capture_default_str();
        app.add_option("--width", width, "hidden width")->capture_default_str();
      });
  const std::string out = examples::prepare_out(o);

  const nn::Sequential net = examples::tanh_mlp(2, width, 3);
  auto u = [&](const Expr& p) { return net(concat(-1, column(p, 0), column(p, 1) - 1.0)); };
  auto exact = [&](const Expr& p) -> Expr {
    return mul(exp(-column(p, 1)), sin(kPi * column(p, 0)));
  };
  Param<> c = Param<>::scalar("c", 1.0);
  Points pi(interior, {2}, "interior"), pb(boundary, {2}, "boundary"), p0(initial, {2}, "initial"),
      pd(observed, {2}, "observed");
  const Expr ue = exact(pi), x = column(pi, 0), t = column(pi, 1);
  const Expr f = -ue + mul(mul(kPi * exp(-t), cos(kPi * x)), ue) + (kC * kPi * kPi) * ue;
  const Expr ui = u(pi);
  train::Problem p;
  p.terms = {
      {"residual", mean(square(d(ui, pi, 1) + mul(ui, d(ui, pi, 0)) - c * d2(ui, pi, 0) - f))},
      {"boundary", mean(square(u(pb)))},
      {"initial", mean(square(u(p0) - sin(kPi * column(p0, 0))))},
      {"data", mean(square(u(pd) - exact(pd)))}};
  Input<2> grid("grid");
  p.predictions = {{"u", u(grid)}};
  p.optimizer = std::make_shared<optim::Adam>(o.lr);

  const data::SpaceTime domain{
      std::make_shared<data::BoxDomain>(std::vector<double>{-1.0}, std::vector<double>{1.0}), 0.0,
      2.0};
  auto draw = [&](Rng& rng) {
    return PointValues{{"interior", domain.interior(interior, rng)},
                       {"boundary", domain.boundary(boundary, rng)},
                       {"initial", domain.initial(initial, rng)},
                       {"observed", domain.interior(observed, rng)}};
  };
  ProblemTrainer trainer(p);
  const auto [h, r] = examples::adam_then_lbfgs(trainer, draw, o, lbfgs);
  examples::plot_terms(out + "pinn_burgers_loss.png", "Burgers: loss per 100 Adam iterations", h);
  const examples::Field fld = examples::field(-1.0, 1.0, 0.0, 2.0, 100);
  const MatrixRM uh = trainer.predict({{"grid", fld.points}}).at("u");
  const double rel = examples::compare(
      fld, uh, [&](float xv, float tv) { return std::exp(-tv) * std::sin(kPi * xv); },
      out + "pinn_burgers", "Burgers' equation");
  const double learned = trainer.param("c")(0, 0);
  std::printf("pinn_burgers: c learned %.6g (true %.6g), %d Adam and %d L-BFGS iterations, plots "
              "in %s\n",
              learned, kC, o.epochs, r.iterations, out.c_str());
  examples::print_result({{"rel_l2", rel},
                          {"c", learned},
                          {"c_rel_error", std::abs(learned - kC) / kC},
                          {"loss", r.loss},
                          {"train_time_s", h.train_time_s + r.seconds},
                          {"compile_time_s", h.compile_time_s}});
  return 0;
}
