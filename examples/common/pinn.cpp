#include "examples/common/pinn.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "plot/plot.h"

namespace kiln::examples {

nn::Sequential tanh_mlp(int64_t in, int64_t width, int depth) {
  nn::Sequential net{nn::Linear(in, width), nn::Tanh()};
  for (int d = 1; d < depth; ++d) {
    net.push_back(nn::Linear(width, width));
    net.push_back(nn::Tanh());
  }
  net.push_back(nn::Linear(width, 1));
  return net;
}

PinnRun adam_then_lbfgs(ProblemTrainer& trainer, const PointSampler& draw, const Options& o,
                        int lbfgs) {
  PinnRun run;
  int left = o.epochs;
  if (o.resume && std::filesystem::exists(o.checkpoint)) {
    trainer.load(o.checkpoint);
    std::fprintf(stderr, "resumed from %s after iteration %d\n", o.checkpoint.c_str(),
                 trainer.iterations_done());
    left = std::max(0, o.epochs - trainer.iterations_done());
  }
  run.adam = trainer.fit(draw, {.iterations = left,
                                .resample_every = 500,
                                .log_every = 100,
                                .seed = o.seed,
                                .device = device(o),
                                .checkpoint = o.checkpoint});
  run.lbfgs = trainer.lbfgs(draw, {.max_iterations = lbfgs});
  if (!o.checkpoint.empty())
    trainer.save(o.checkpoint);
  return run;
}

Field field(const data::Domain& d, int n, std::string x_label, std::string y_label) {
  Field f;
  f.n = n;
  f.x_lo = d.lo()[0], f.x_hi = d.hi()[0], f.y_lo = d.lo()[1], f.y_hi = d.hi()[1];
  f.x_label = std::move(x_label), f.y_label = std::move(y_label);
  f.points = data::grid_2d(f.x_lo, f.x_hi, f.y_lo, f.y_hi, n);
  for (int i = 0; i < f.points.rows(); ++i)
    f.inside.push_back(d.contains(&f.points(i, 0)));
  return f;
}

Field field(double x_lo, double x_hi, double t0, double t1, int n) {
  Field f;
  f.n = n;
  f.x_lo = x_lo, f.x_hi = x_hi, f.y_lo = t0, f.y_hi = t1;
  f.y_label = "t";
  f.points = data::grid_2d(x_lo, x_hi, t0, t1, n);
  f.inside.assign(static_cast<size_t>(f.points.rows()), true);
  return f;
}

double compare(const Field& f, const MatrixRM& u, const std::function<double(float, float)>& exact,
               const std::string& prefix, const std::string& title) {
  Eigen::MatrixXd pred(f.n, f.n), err(f.n, f.n);
  double e2 = 0, x2 = 0;
  for (int k = 0; k < f.n * f.n; ++k) {
    const int i = k / f.n, j = k % f.n;
    if (!f.inside[static_cast<size_t>(k)]) {
      pred(i, j) = err(i, j) = NAN;
      continue;
    }
    const double want = exact(f.points(k, 0), f.points(k, 1));
    pred(i, j) = u(k, 0);
    err(i, j) = std::abs(u(k, 0) - want);
    e2 += err(i, j) * err(i, j);
    x2 += want * want;
  }
  // Five tick labels along each axis, at the cells nearest to them.
  auto labels = [&](double lo, double hi, bool descending) {
    std::vector<std::string> out(static_cast<size_t>(f.n));
    for (int q = 0; q <= 4; ++q) {
      const int cell = std::min(f.n - 1, q * f.n / 4);
      const double v = lo + (hi - lo) * (cell + 0.5) / f.n;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2g", v);
      out[static_cast<size_t>(descending ? f.n - 1 - cell : cell)] = buf;
    }
    return out;
  };
  const auto cols = labels(f.x_lo, f.x_hi, false), rows = labels(f.y_lo, f.y_hi, true);
  plot::heatmap(prefix + "_solution.png", title + ": the network's solution", pred, rows, cols,
                f.x_label, f.y_label, false);
  plot::heatmap(prefix + "_error.png", title + ": |u - exact|", err, rows, cols, f.x_label,
                f.y_label, false);
  return std::sqrt(e2 / x2);
}

void plot_terms(const std::string& path, const std::string& title, const History& h) {
  if (h.epochs.empty())
    return;
  std::vector<plot::Series> series{{"loss", {}, {}}};
  for (const auto& [name, v] : h.epochs.front().terms)
    series.push_back({name, {}, {}});
  for (const EpochStats& e : h.epochs) {
    series[0].x.push_back(e.epoch);
    series[0].y.push_back(e.running_loss);
    for (size_t t = 0; t < e.terms.size(); ++t) {
      series[t + 1].x.push_back(e.epoch);
      series[t + 1].y.push_back(e.terms[t].second);
    }
  }
  plot::loss_curves(path, title, series, true);
}

} // namespace kiln::examples
