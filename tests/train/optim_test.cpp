// Optimizers: each update rule, compiled into a step kernel, against its formula evaluated in
// double on the host, over a fixed sequence of gradients.

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>

#include "ir/val.h"
#include "runtime/executable.h"
#include "train/step.h"

using namespace kiln;

namespace {

constexpr int kSize = 6;
constexpr int kSteps = 12;

/** g(step, i): a fixed gradient sequence with both signs and varying scales. */
double grad_at(int step, int i) {
  return std::sin(0.7 * step + 1.3 * i) * (1.0 + 0.5 * i) + 0.1 * (i % 2);
}

/** A graph whose loss is sum(g * theta), so the gradient w.r.t. theta is exactly the input g. */
ir::Graph linear_loss() {
  ir::Builder b;
  const ir::Type t{ir::DType::F32, ir::Shape{kSize}};
  const ir::Val theta(b, b.param("theta", t)), g(b, b.input("g", t));
  b.set_output("loss", ir::sum_all(theta * g).id());
  return b.graph();
}

/** Host reference state for one optimizer, in double. */
struct Reference {
  std::vector<double> theta, a, b;
  int t = 0;
};

using RefStep = std::function<void(Reference&, const std::vector<double>& g, double lr)>;

void check(const optim::Optimizer& opt, const RefStep& ref_step) {
  INFO(opt.describe());
  const StepGraph step = build_step(linear_loss(), opt, {"theta"});
  Executable exe = Executable::compile(step.graph, {.name = "optim", .updates = step.updates});
  MatrixRM theta0(1, kSize);
  for (int i = 0; i < kSize; ++i)
    theta0(0, i) = static_cast<float>(0.3 * i - 0.7);
  exe.set_param("theta", theta0);
  Reference ref{std::vector<double>(theta0.data(), theta0.data() + kSize),
                std::vector<double>(kSize, 0.0), std::vector<double>(kSize, 0.0)};
  for (int s = 1; s <= kSteps; ++s) {
    MatrixRM g(1, kSize);
    std::vector<double> gd(kSize);
    for (int i = 0; i < kSize; ++i)
      g(0, i) = static_cast<float>(gd[i] = grad_at(s, i));
    const double lr = opt.lr() * (s % 3 == 0 ? 0.5 : 1.0); // the rate may change between steps
    MatrixRM lr_m(1, 1);
    lr_m(0, 0) = static_cast<float>(lr);
    exe.run({{"g", g}, {"lr", lr_m}});
    ref.t = s;
    for (double& x : gd)
      x = static_cast<double>(static_cast<float>(x));
    ref_step(ref, gd, static_cast<double>(static_cast<float>(lr)));
    const MatrixRM got = exe.param("theta"); // a vector: one column
    for (int i = 0; i < kSize; ++i) {
      INFO("step " << s << " element " << i << ": kernel " << got(i, 0) << ", formula "
                   << ref.theta[i]);
      CHECK(std::abs(got(i, 0) - ref.theta[i]) <= 2e-6 * (1.0 + std::abs(ref.theta[i])));
    }
  }
  CHECK(exe.param("step")(0, 0) == static_cast<float>(kSteps));
}

} // namespace

TEST_CASE("SGD follows theta -= lr g") {
  check(optim::SGD(0.1), [](Reference& r, const std::vector<double>& g, double lr) {
    for (int i = 0; i < kSize; ++i)
      r.theta[i] -= lr * g[i];
  });
}

TEST_CASE("the course's momentum follows m = beta m + (1 - beta) g") {
  check(optim::Momentum(0.1, 0.8), [](Reference& r, const std::vector<double>& g, double lr) {
    for (int i = 0; i < kSize; ++i) {
      r.a[i] = 0.8 * r.a[i] + 0.2 * g[i];
      r.theta[i] -= lr * r.a[i];
    }
  });
}

TEST_CASE("PyTorch's SGD with momentum, dampening and Nesterov") {
  for (bool nesterov : {false, true}) {
    optim::SGDTorch opt;
    opt.learning_rate = 0.05;
    opt.momentum = 0.9;
    opt.dampening = nesterov ? 0.0 : 0.3;
    opt.nesterov = nesterov;
    check(opt, [&](Reference& r, const std::vector<double>& g, double lr) {
      for (int i = 0; i < kSize; ++i) {
        r.a[i] = r.t == 1 ? g[i] : opt.momentum * r.a[i] + (1.0 - opt.dampening) * g[i];
        const double d = nesterov ? g[i] + opt.momentum * r.a[i] : r.a[i];
        r.theta[i] -= lr * d;
      }
    });
  }
}

TEST_CASE("AdaGrad in PyTorch's form and in the course's form") {
  for (bool inside : {false, true}) {
    optim::AdaGrad opt;
    opt.learning_rate = 0.1;
    opt.eps = inside ? 1e-3 : 1e-10;
    opt.eps_inside_sqrt = inside;
    check(opt, [&](Reference& r, const std::vector<double>& g, double lr) {
      for (int i = 0; i < kSize; ++i) {
        r.a[i] += g[i] * g[i];
        const double denom = inside ? std::sqrt(r.a[i] + opt.eps) : std::sqrt(r.a[i]) + opt.eps;
        r.theta[i] -= lr * g[i] / denom;
      }
    });
  }
}

TEST_CASE("Adam divides by 1 - beta^t (Kingma and Ba), as PyTorch") {
  optim::Adam opt(0.01);
  check(opt, [&](Reference& r, const std::vector<double>& g, double lr) {
    const double c1 = 1.0 - std::pow(opt.beta1, r.t), c2 = 1.0 - std::pow(opt.beta2, r.t);
    for (int i = 0; i < kSize; ++i) {
      r.a[i] = opt.beta1 * r.a[i] + (1.0 - opt.beta1) * g[i];
      r.b[i] = opt.beta2 * r.b[i] + (1.0 - opt.beta2) * g[i] * g[i];
      r.theta[i] -= (lr / c1) * r.a[i] / (std::sqrt(r.b[i]) / std::sqrt(c2) + opt.eps);
    }
  });
}

TEST_CASE("AdamW decays the weights before the Adam step") {
  optim::AdamW opt(0.01, 0.05);
  check(opt, [&](Reference& r, const std::vector<double>& g, double lr) {
    const double c1 = 1.0 - std::pow(opt.beta1, r.t), c2 = 1.0 - std::pow(opt.beta2, r.t);
    for (int i = 0; i < kSize; ++i) {
      r.theta[i] -= lr * opt.weight_decay * r.theta[i];
      r.a[i] = opt.beta1 * r.a[i] + (1.0 - opt.beta1) * g[i];
      r.b[i] = opt.beta2 * r.b[i] + (1.0 - opt.beta2) * g[i] * g[i];
      r.theta[i] -= (lr / c1) * r.a[i] / (std::sqrt(r.b[i]) / std::sqrt(c2) + opt.eps);
    }
  });
}

TEST_CASE("RMSProp follows v = alpha v + (1 - alpha) g^2") {
  optim::RMSProp opt;
  opt.learning_rate = 0.01;
  check(opt, [&](Reference& r, const std::vector<double>& g, double lr) {
    for (int i = 0; i < kSize; ++i) {
      r.a[i] = opt.alpha * r.a[i] + (1.0 - opt.alpha) * g[i] * g[i];
      r.theta[i] -= lr * g[i] / (std::sqrt(r.a[i]) + opt.eps);
    }
  });
}

TEST_CASE("learning-rate schedules") {
  using optim::Schedule;
  CHECK(Schedule::constant().at(0.1, 7) == 0.1);
  CHECK(Schedule::step(3, 0.5).at(0.1, 2) == Approx(0.1));
  CHECK(Schedule::step(3, 0.5).at(0.1, 3) == Approx(0.05));
  CHECK(Schedule::step(3, 0.5).at(0.1, 7) == Approx(0.025));
  CHECK(Schedule::exponential(0.9).at(0.1, 2) == Approx(0.081));
  CHECK(Schedule::cosine(10, 0.001).at(0.1, 0) == Approx(0.1));
  CHECK(Schedule::cosine(10, 0.001).at(0.1, 5) == Approx(0.0505));
  CHECK(Schedule::cosine(10, 0.001).at(0.1, 10) == Approx(0.001));
}
