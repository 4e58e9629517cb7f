#include "trainer/problem_trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "base/error.h"
#include "io/safetensors.h"
#include "ir/autodiff.h"
#include "trainer/checkpoint.h"

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

/** A checked checkpoint: what load() applies, now or at the first compile. */
struct LoadedCheckpoint {
  detail::CheckpointValues values;
  PointValues points;
  Rng rng;
  int iterations = 0;
  int drawn_at = 0;
};

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
  /** The iteration count when `points` were drawn: fit() redraws at every multiple of
      resample_every but this one, so that a run split over several fit() calls, or resumed from
      a checkpoint, draws what one long run would. */
  int drawn_at = 0;

  /** load() before the first fit(): applied once the step is compiled. */
  std::optional<LoadedCheckpoint> pending;

  bool compiled() const { return step.has_value(); }

  const train::ProblemGraphs& built() {
    if (!graphs)
      graphs = train::build(problem);
    return *graphs;
  }

  void compile(Device on, uint64_t seed) {
    device = on;
    built();
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
    if (pending)
      apply(*std::exchange(pending, std::nullopt));
  }

  /** The trained params, then the optimizer's state, with the dims the step declares. */
  detail::CheckpointLayout layout() {
    const ir::Graph& g = built().step->graph;
    auto slot = [&](const std::string& name) {
      const std::optional<ir::NodeId> id = g.find_leaf(ir::Op::Param, name);
      KILN_ASSERT(id.has_value(), "the step has no param '", name, "'");
      return detail::TensorSlot{name, g.node(*id).type.shape.dims()};
    };
    detail::CheckpointLayout l;
    for (const std::string& p : graphs->param_names())
      l.params.push_back(slot(p));
    for (const auto& [name, init] : graphs->step->state)
      l.state.push_back(slot(name));
    return l;
  }

  /** Everything in `file` checked against the problem; nothing is changed. */
  LoadedCheckpoint check(const Safetensors& file, const std::string& path) {
    auto fail = [&](const std::string& why) -> void {
      throw DataError(str("[checkpoint] ", path, ": ", why));
    };
    Safetensors weights;
    weights.metadata = file.metadata;
    LoadedCheckpoint c{.rng = Rng()};
    for (const auto& [name, t] : file.tensors) {
      if (!name.starts_with("points.")) {
        weights.tensors.emplace(name, t);
        continue;
      }
      const std::string set = name.substr(7);
      if (t.dtype != ir::DType::F32 || t.shape.size() != 2)
        fail(str("tensor '", name, "' is ", ir::to_string(t.dtype), " ",
                 HostTensor::shape_text(t.shape), "; a point set is f32 [rows, dims]"));
      const std::span<const float> v = t.view<float>();
      MatrixRM m(t.shape[0], t.shape[1]);
      for (size_t i = 0; i < v.size(); ++i) {
        if (!std::isfinite(v[i]))
          fail(str("tensor '", name, "' holds ", v[i], " at index ", i, "; points must be finite"));
        m.data()[i] = v[i];
      }
      c.points.emplace(set, std::move(m));
    }
    c.values = detail::check_checkpoint(weights, path, layout(), false);
    auto meta = [&](const char* key) {
      const auto it = file.metadata.find(key);
      if (it == file.metadata.end())
        fail(str("no metadata '", key, "'; is this a ProblemTrainer checkpoint?"));
      return it->second;
    };
    auto count = [&](const char* key) {
      const std::string text = meta(key);
      const std::optional<int> n = detail::parse_epochs_done(text);
      if (!n)
        fail(str("metadata ", key, " is '", text, "', expected a whole number below 2^31"));
      return *n;
    };
    c.iterations = count("iterations_done");
    c.drawn_at = count("points_drawn_at");
    const std::string rng = meta("sampler_rng");
    const std::optional<Rng> r = Rng::from_state_text(rng);
    if (!r)
      fail(str("metadata sampler_rng is '", rng, "', expected what Rng::state_text() writes"));
    c.rng = *r;
    if (c.points.empty())
      fail("no point sets (tensors 'points.<name>')");
    return c;
  }

  void apply(LoadedCheckpoint c) {
    for (const auto& [name, m] : c.values.tensors)
      step->set_param(name, m);
    points = std::move(c.points);
    rng = c.rng;
    iterations = c.iterations;
    drawn_at = c.drawn_at;
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
    s.drawn_at = s.iterations;
  }
  const bool bar = o.progress && isatty(fileno(stderr));
  std::vector<MatrixRM> good = s.snapshot();
  double sum = 0;
  int count = 0;
  const auto t_interval = Clock::now();
  auto t0 = t_interval;
  for (int it = 0; it < o.iterations; ++it) {
    if (o.resample_every > 0 && s.iterations % o.resample_every == 0 &&
        s.iterations != s.drawn_at) {
      s.points = sample(*s.rng);
      s.drawn_at = s.iterations;
    }
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
      if (!o.checkpoint.empty())
        save(o.checkpoint);
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
    s.drawn_at = s.iterations;
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

void ProblemTrainer::save(const std::string& path) const {
  State& s = *s_;
  if (!s.compiled())
    throw Error("[ProblemTrainer] save() before fit(): there are no weights yet");
  std::map<std::string, HostTensor> tensors;
  const detail::CheckpointLayout l = s.layout();
  for (const auto* list : {&l.params, &l.state})
    for (const detail::TensorSlot& t : *list)
      tensors.emplace(t.name, detail::to_tensor(s.step->param(t.name), t.dims));
  for (const auto& [name, m] : s.points)
    tensors.emplace("points." + name, detail::to_tensor(m, {m.rows(), m.cols()}));
  save_safetensors(path, tensors,
                   {{"iterations_done", std::to_string(s.iterations)},
                    {"points_drawn_at", std::to_string(s.drawn_at)},
                    {"sampler_rng", s.rng ? s.rng->state_text() : Rng().state_text()},
                    {"optimizer", s.problem.optimizer->describe()},
                    {"format", "kiln problem checkpoint"}});
}

void ProblemTrainer::load(const std::string& path) {
  State& s = *s_;
  LoadedCheckpoint c = s.check(load_safetensors(path), path);
  if (s.compiled()) {
    s.apply(std::move(c));
  } else {
    s.iterations = c.iterations; // iterations_done() tells a resumed run where it is
    s.pending = std::move(c);
  }
}

} // namespace kiln
