// The split step (gradients into their own outputs, then the update reading them as inputs, as
// a data-parallel run does around its all-reduce) against the fused step, over several steps.

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "runtime/executable.h"
#include "train/problem.h"

using namespace kiln;

namespace {

train::ProblemGraphs graphs(bool split) {
  const nn::Sequential net{nn::Linear(3, 7), nn::Tanh(), nn::Linear(7, 2)};
  train::Problem p =
      train::supervised(net, 3, 2, Loss::mse(), std::make_shared<optim::Adam>(0.05), 1e-3);
  p.split_step = split;
  return train::build(p);
}

MatrixRM rows(int64_t n, int64_t cols, int salt) {
  MatrixRM m(n, cols);
  for (int64_t i = 0; i < m.size(); ++i)
    m.data()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + salt));
  return m;
}

} // namespace

TEST_CASE("a split step, gradients then update, is the fused step") {
  const train::ProblemGraphs fused = graphs(false), split = graphs(true);
  REQUIRE(fused.step);
  REQUIRE_FALSE(fused.split);
  REQUIRE(split.split);
  REQUIRE_FALSE(split.step);
  CHECK(split.split->update.state == fused.step->state);

  Executable step = Executable::compile(fused.step->graph, {.updates = fused.step->updates});
  Executable grads = Executable::compile(split.split->gradients, {.name = "gradients"});
  Executable update =
      Executable::compile(split.split->update.graph, {.updates = split.split->update.updates});
  const ir::Bindings init = init_parameters(fused.params, 5, ir::DType::F64);
  step.set_params(init);
  update.set_params(init);
  for (const std::string& p : grads.param_names())
    grads.bind_param(p, update.param_data(p));
  // The update's inputs are the gradients, named after their params, and the rate.
  for (const std::string& in : update.input_names())
    CHECK((in == "lr" || in.starts_with("grad:")));

  MatrixRM lr(1, 1);
  lr(0, 0) = 0.05f;
  for (int s = 0; s < 4; ++s) {
    const MatrixRM y = rows(9, 3, s), c = rows(9, 2, 10 + s);
    const auto out = step.run({{"y", y}, {"c", c}, {"lr", lr}});
    const auto g = grads.run({{"y", y}, {"c", c}});
    Feed feed{{"lr", lr}};
    for (const auto& [name, m] : g)
      if (name.starts_with("grad:"))
        feed.emplace_back(name, m);
    update.run(feed);
    CHECK(g.at("loss")(0, 0) == Approx(out.at("loss")(0, 0)).epsilon(1e-6));
    for (const std::string& p : update.param_names()) {
      INFO("step " << s << ", " << p);
      const MatrixRM a = step.param(p), b = update.param(p);
      CHECK((a - b).cwiseAbs().maxCoeff() <= 1e-6f * (1.0f + a.cwiseAbs().maxCoeff()));
    }
  }
}
