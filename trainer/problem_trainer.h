#pragma once
// Training a train::Problem whose inputs are point sets held whole (kiln::Points): a
// physics-informed network's interior, boundary and initial points, each with its own number of
// rows. Every iteration is one fused step over all of them (forward, the input derivatives,
// every weighted loss term, backward, update); L-BFGS then finishes on one fused loss-and-gradient
// kernel per evaluation.
//
//   kiln::ProblemTrainer t(problem);                          // train/problem.h
//   auto draw = [&](kiln::Rng& rng) {
//     return kiln::PointValues{{"interior", box.interior(256, rng)}, {"boundary", ...}};
//   };
//   t.fit(draw, {.iterations = 5000, .resample_every = 100});  // the problem's optimizer
//   t.lbfgs(draw, {.max_iterations = 500});                    // on the last points drawn
//   MatrixRM u = t.predict({{"grid", grid}}).at("u");

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/rng.h"
#include "runtime/executable.h"
#include "train/problem.h"
#include "trainer/lbfgs.h"
#include "trainer/trainer.h"

namespace kiln {

/** Values of a problem's Points inputs, by name ([rows, dims] each, as declared). */
using PointValues = std::map<std::string, MatrixRM>;
/** Draws point values from `rng` (at the start, and every resample_every iterations). */
using PointSampler = std::function<PointValues(Rng& rng)>;

/** Options of ProblemTrainer::fit. */
struct IterateOptions {
  int iterations = 1000;
  /** Draw new points every this many iterations; 0: draw once, at the first fit. */
  int resample_every = 0;
  /** A History entry every this many iterations: the mean loss over them, the terms at the end. */
  int log_every = 100;
  /** Seeds the weights (first fit only) and the points. */
  uint64_t seed = 0;
  /** The learning rate of log interval e is schedule.at(lr, e). */
  optim::Schedule schedule = optim::Schedule::constant();
  /** A progress bar on stderr, drawn only when stderr is a terminal. */
  bool progress = true;
  /** The first fit compiles for this device (later calls use the same one). */
  Device device = Device::cpu();
  /** Where save() writes after every log interval ("" for nowhere). */
  std::string checkpoint;
};

/** What ProblemTrainer::lbfgs did. */
struct LbfgsReport {
  int iterations = 0;
  int evaluations = 0;
  double loss = 0;
  /** optim::LbfgsResult::stop. */
  std::string stop;
  double seconds = 0;
  /** The loss terms at the end, where the problem has several. */
  std::vector<std::pair<std::string, double>> terms;
};

class ProblemTrainer {
public:
  /** Throws kiln::Error for a problem without an optimizer or loss terms. */
  explicit ProblemTrainer(train::Problem problem);
  ~ProblemTrainer();
  ProblemTrainer(ProblemTrainer&&) noexcept;

  /**
   * `options.iterations` steps of the problem's optimizer. The first call compiles the step and
   * draws the weights; later calls go on. A NaN or Inf loss stops training with a
   * kiln::TrainingError naming the iteration, with the weights back at the last log entry. A
   * NaN or Inf among the points (fit, lbfgs, evaluate) is a kiln::DataError naming the point set
   * and the entry before any kernel runs.
   */
  History fit(const PointSampler& points, const IterateOptions& options = {});

  /**
   * Full-batch L-BFGS from the current weights on the last points drawn (or, before any fit,
   * points drawn with `seed`): one fused loss-and-gradient kernel call per evaluation. The
   * optimizer's own state (Adam's moments) is left as it is.
   */
  LbfgsReport lbfgs(const PointSampler& points, const optim::LbfgsOptions& options = {},
                    uint64_t seed = 0);

  /** The problem's predictions (train::Problem::predictions) at `inputs`. */
  std::map<std::string, MatrixRM> predict(const Feed& inputs);
  /** The loss and its terms on `points` (no update). */
  std::vector<std::pair<std::string, double>> evaluate(const PointValues& points);

  /** The current value of a trained parameter. */
  MatrixRM param(const std::string& name) const;
  std::vector<std::string> param_names() const;
  /** Optimizer iterations done so far (fit and lbfgs). */
  int iterations_done() const;

  /**
   * Writes (atomically, as a safetensors file) what a later run needs to go on as this one
   * would: the trained parameters (PyTorch's names and shapes), the optimizer's state, the
   * points of the last draw ("points.<name>"), the sampler's random state and the iteration
   * count. Throws kiln::Error before the first fit().
   */
  void save(const std::string& path) const;
  /**
   * Loads what save() wrote, before or after the first fit(); the next fit() goes on from there
   * (iterations_done(), the points, the next draw). Everything is checked before anything
   * changes: a missing, misshaped or non-finite tensor, a tensor the problem does not have, or
   * bad metadata is a kiln::DataError "[checkpoint] <path>: ..." that leaves the trainer as it was.
   */
  void load(const std::string& path);

  struct State;

private:
  std::unique_ptr<State> s_;
};

} // namespace kiln
