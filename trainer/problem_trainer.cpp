#include "trainer/problem_trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "base/error.h"
#include "ir/autodiff.h"

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

MatrixRM scalar_matrix(double v) {
  MatrixRM m(1, 1);
  m(0, 0) = static_cast<float>(v);
  return m;
}

} // namespace

struct ProblemTrainer::State {
  train::Problem problem;
  std::optional<train::ProblemGraphs> graphs;
  Device device;
  std::optional<Executable> step, eval, grad, predict;
  /** The trained params, then the optimizer's state params and their starting values. */
  std::vector<std::string> params;
  std::vector<std::pair<std::string, double>> state;
  PointValues points;
  std::optional<Rng> rng;
  int iterations = 0;

  bool compiled() const { return step.has_value(); }

  void compile(Device on, uint64_t seed) {
    device = on;
    graphs = train::build(problem);
    params = graphs->param_names();
    state = graphs->step->state;
    step.emplace(Executable::compile(
        graphs->step->graph,
        {.name = "problem_step", .updates = graphs->step->updates, .device = device}));
    step->set_params(init_parameters(graphs->params, seed, ir::DType::F64));
    for (const auto& [name, init] : state) {
      const MatrixRM cur = step->param(name);
      step->set_param(name, MatrixRM::Constant(cur.rows(), cur.cols(), static_cast<float>(init)));
    }
  }

  /** Compiles `g` for the same device, its params living in the step's buffers. */
  Executable sharing(const ir::Graph& g, const char* name) {
    Executable e = Executable::compile(g, {.name = name, .device = device});
    for (const std::string& p : e.param_names())
      e.bind_param(p, step->param_data(p));
    return e;
  }

  Feed feed(const PointValues& values, const std::vector<std::string>& wanted) const {
    Feed f;
    for (const std::string& name : wanted) {
      if (name == "lr")
        continue;
      const auto it = values.find(name);
      if (it == values.end())
        throw Error(str("[ProblemTrainer] the points give no input '", name,
                        "' (the problem's inputs: ", join(wanted), ")"));
      check_finite(name, it->second);
      f.emplace_back(name, it->second);
    }
    return f;
  }

  /** A NaN or Inf point would come back as a NaN loss blamed on the learning rate. */
  static void check_finite(const std::string& name, const MatrixRM& m) {
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      for (Eigen::Index c = 0; c < m.cols(); ++c)
        if (!std::isfinite(m(r, c)))
          throw DataError(str("[ProblemTrainer] points '", name, "': (", r, ", ", c, ") is ",
                              m(r, c), "; every point must be finite"));
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const std::string& n : names)
      s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  /** The loss terms of one run's outputs, where the problem has several. */
  std::vector<std::pair<std::string, double>> terms(const std::map<std::string, MatrixRM>& out) {
    std::vector<std::pair<std::string, double>> t;
    if (problem.terms.size() > 1)
      for (const train::LossTerm& term : problem.terms)
        t.emplace_back(term.name, out.at("loss:" + term.name)(0, 0));
    return t;
  }

  std::vector<MatrixRM> snapshot() const {
    std::vector<MatrixRM> out;
    for (const std::string& p : step->param_names())
      out.push_back(step->param(p));
    return out;
  }
  void restore(const std::vector<MatrixRM>& snap) {
    const std::vector<std::string> names = step->param_names();
    for (size_t i = 0; i < names.size(); ++i)
      step->set_param(names[i], snap[i]);
  }
};

ProblemTrainer::ProblemTrainer(train::Problem problem) : s_(std::make_unique<State>()) {
  if (!problem.optimizer)
    throw Error("[ProblemTrainer] the problem has no optimizer");
  if (problem.terms.empty())
    throw Error("[ProblemTrainer] the problem has no loss terms");
  s_->problem = std::move(problem);
}
ProblemTrainer::~ProblemTrainer() = default;
ProblemTrainer::ProblemTrainer(ProblemTrainer&&) noexcept = default;

History ProblemTrainer::fit(const PointSampler& sample, const IterateOptions& o) {
  State& s = *s_;
  if (o.iterations < 0 || o.log_every < 1 || o.resample_every < 0)
    throw Error(str("[ProblemTrainer] iterations and resample_every must be >= 0 and log_every "
                    ">= 1, got ",
                    o.iterations, ", ", o.resample_every, " and ", o.log_every));
  History h;
  if (!s.compiled()) {
    const auto t0 = Clock::now();
    s.compile(o.device, o.seed);
    h.compile_time_s = seconds_since(t0);
  } else if (o.device != s.device) {
    throw Error(str("[ProblemTrainer] compiled for ", s.device.str(),
                    " by the first fit(); this "
                    "fit asks for ",
                    o.device.str()));
  }
  if (!s.rng) {
    s.rng.emplace(o.seed, 1);
    s.points = sample(*s.rng);
  }
  const bool bar = o.progress && isatty(fileno(stderr));
  std::vector<MatrixRM> good = s.snapshot();
  double sum = 0;
  int count = 0;
  const auto t_interval = Clock::now();
  auto t0 = t_interval;
  for (int it = 0; it < o.iterations; ++it) {
    if (o.resample_every > 0 && it > 0 && s.iterations % o.resample_every == 0)
      s.points = sample(*s.rng);
    const int interval = s.iterations / o.log_every;
    const double lr = o.schedule.at(s.problem.optimizer->lr(), interval);
    Feed feed = s.feed(s.points, s.step->input_names());
    const MatrixRM lr_m = scalar_matrix(lr);
    feed.emplace_back("lr", lr_m);
    const auto out = s.step->run(feed);
    const double loss = out.at("loss")(0, 0);
    if (!std::isfinite(loss)) {
      s.restore(good);
      throw TrainingError(str("[ProblemTrainer] the loss became ", loss, " at iteration ",
                              s.iterations + 1, "; the weights are back at iteration ",
                              s.iterations - count, ". Try a smaller learning rate (now ", lr,
                              ")"));
    }
    ++s.iterations;
    sum += loss;
    ++count;
    if (count == o.log_every || it + 1 == o.iterations) {
      EpochStats st;
      st.epoch = (s.iterations + o.log_every - 1) / o.log_every;
      st.running_loss = sum / count;
      st.lr = lr;
      st.terms = s.terms(out);
      st.seconds = seconds_since(t0);
      h.train_time_s += st.seconds;
      h.epochs.push_back(st);
      good = s.snapshot();
      sum = 0;
      count = 0;
      t0 = Clock::now();
      if (bar)
        std::fprintf(stderr, "\r  iteration %d/%d  loss %.4g", it + 1, o.iterations,
                     st.running_loss);
    }
  }
  if (bar)
    std::fprintf(stderr, "\n");
  return h;
}

LbfgsReport ProblemTrainer::lbfgs(const PointSampler& sample, const optim::LbfgsOptions& options,
                                  uint64_t seed) {
  State& s = *s_;
  const auto t0 = Clock::now();
  if (!s.compiled())
    s.compile(Device::cpu(), seed);
  if (!s.rng) {
    s.rng.emplace(seed, 1);
    s.points = sample(*s.rng);
  }
  if (!s.grad) {
    std::vector<std::string> names;
    for (const std::string& p : s.params)
      names.push_back("grad:" + p);
    s.grad.emplace(s.sharing(ir::grad(s.graphs->eval, "loss", s.params, names), "problem_grad"));
  }
  // One flat vector of every trained parameter.
  std::vector<MatrixRM> shapes;
  std::vector<double> x;
  for (const std::string& p : s.params) {
    shapes.push_back(s.step->param(p));
    for (int64_t i = 0; i < shapes.back().size(); ++i)
      x.push_back(shapes.back().data()[i]);
  }
  const Feed feed = s.feed(s.points, s.grad->input_names());
  auto set = [&](const std::vector<double>& v) {
    size_t k = 0;
    for (size_t j = 0; j < s.params.size(); ++j) {
      MatrixRM& m = shapes[j];
      for (int64_t i = 0; i < m.size(); ++i)
        m.data()[i] = static_cast<float>(v[k++]);
      s.step->set_param(s.params[j], m);
    }
  };
  std::map<std::string, MatrixRM> last;
  const optim::Objective f = [&](const std::vector<double>& v, std::vector<double>& g) {
    set(v);
    last = s.grad->run(feed);
    size_t k = 0;
    for (const std::string& p : s.params) {
      const MatrixRM& gp = last.at("grad:" + p);
      for (int64_t i = 0; i < gp.size(); ++i)
        g[k++] = gp.data()[i];
    }
    return static_cast<double>(last.at("loss")(0, 0));
  };
  const optim::LbfgsResult r = optim::lbfgs(f, x, options);
  set(r.x);
  s.iterations += r.iterations;
  LbfgsReport rep;
  rep.iterations = r.iterations;
  rep.evaluations = r.evaluations;
  rep.loss = r.f;
  rep.stop = r.stop;
  rep.terms = evaluate(s.points);
  rep.seconds = seconds_since(t0);
  return rep;
}

std::vector<std::pair<std::string, double>> ProblemTrainer::evaluate(const PointValues& points) {
  State& s = *s_;
  if (!s.compiled())
    throw Error("[ProblemTrainer] evaluate() before fit(): the problem is not compiled yet");
  if (!s.eval)
    s.eval.emplace(s.sharing(s.graphs->eval, "problem_eval"));
  const auto out = s.eval->run(s.feed(points, s.eval->input_names()));
  std::vector<std::pair<std::string, double>> t{{"loss", out.at("loss")(0, 0)}};
  for (const auto& term : s.terms(out))
    t.push_back(term);
  return t;
}

std::map<std::string, MatrixRM> ProblemTrainer::predict(const Feed& inputs) {
  State& s = *s_;
  if (!s.compiled())
    throw Error("[ProblemTrainer] predict() before fit(): the problem is not compiled yet");
  if (s.problem.predictions.empty())
    throw Error("[ProblemTrainer] predict(): the problem has no predictions");
  if (!s.predict)
    s.predict.emplace(s.sharing(s.graphs->predict, "problem_predict"));
  return s.predict->run(inputs);
}

MatrixRM ProblemTrainer::param(const std::string& name) const {
  if (!s_->compiled())
    throw Error("[ProblemTrainer] param() before fit(): there are no weights yet");
  return s_->step->param(name);
}

std::vector<std::string> ProblemTrainer::param_names() const {
  return s_->params;
}

int ProblemTrainer::iterations_done() const {
  return s_->iterations;
}

} // namespace kiln
