#pragma once
// Optimizers as IR. An optimizer's update rule is ordinary graph IR, so it is fused into the
// step kernel with the backward pass (a parameter's update runs in the epilogue of the matmul
// that produced its gradient). Each rule below matches its formula to float32 rounding.

#include <memory>
#include <string>
#include <vector>

#include "ir/val.h"

namespace kiln::optim {

/** Per-parameter optimizer state: a name suffix (PyTorch's name) and its starting value. */
struct StateSpec {
  std::string name;
  double init = 0.0;
};

/** What every update rule can read besides the parameter, its gradient and its state. */
struct UpdateCtx {
  /** The learning rate of this step (a scalar input: schedules change it without recompiling). */
  ir::Val lr;
  /** This step's number t = 1, 2, ... (a scalar, already incremented). */
  ir::Val step;
};

/** An update rule: theta, its gradient and its state to new theta and new state. */
class Optimizer {
public:
  virtual ~Optimizer() = default;
  /** The base learning rate (schedules scale it). */
  virtual double lr() const = 0;
  /** The state each parameter carries, in the order update() returns it. */
  virtual std::vector<StateSpec> state() const { return {}; }
  /** Returns {new theta, new state...}. */
  virtual std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                      const std::vector<ir::Val>& state) const = 0;
  /** One line, as PyTorch would print the optimizer's settings. */
  virtual std::string describe() const = 0;
};

/** theta -= lr * g. */
struct SGD : Optimizer {
  double learning_rate = 1e-2;
  explicit SGD(double lr = 1e-2) : learning_rate(lr) {}
  double lr() const override { return learning_rate; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/** The course's SG with momentum: m = beta m + (1 - beta) g; theta -= lr * m. */
struct Momentum : Optimizer {
  double learning_rate = 1e-2, beta = 0.9;
  Momentum(double lr = 1e-2, double beta = 0.9) : learning_rate(lr), beta(beta) {}
  double lr() const override { return learning_rate; }
  std::vector<StateSpec> state() const override { return {{"momentum_buffer"}}; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/**
 * PyTorch's torch.optim.SGD with momentum: b = g on the first step, else
 * b = mu b + (1 - dampening) g; with Nesterov the step direction is g + mu b, else b.
 */
struct SGDTorch : Optimizer {
  double learning_rate = 1e-2, momentum = 0.9, dampening = 0.0;
  bool nesterov = false;
  double lr() const override { return learning_rate; }
  std::vector<StateSpec> state() const override { return {{"momentum_buffer"}}; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/**
 * AdaGrad: v += g^2; theta -= lr * g / (sqrt(v) + eps) (PyTorch's form). With
 * eps_inside_sqrt, the course's form theta -= lr * g / sqrt(v + eps).
 */
struct AdaGrad : Optimizer {
  double learning_rate = 1e-2, eps = 1e-10;
  bool eps_inside_sqrt = false;
  double lr() const override { return learning_rate; }
  std::vector<StateSpec> state() const override { return {{"sum"}}; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/**
 * Adam (Kingma and Ba): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * theta -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). (The slides' 1 + b^t is a slip.)
 */
struct Adam : Optimizer {
  double learning_rate = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  explicit Adam(double lr = 1e-3) : learning_rate(lr) {}
  double lr() const override { return learning_rate; }
  std::vector<StateSpec> state() const override { return {{"exp_avg"}, {"exp_avg_sq"}}; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/** AdamW: theta -= lr * weight_decay * theta, then the Adam step (decoupled weight decay). */
struct AdamW : Adam {
  double weight_decay = 1e-2;
  explicit AdamW(double lr = 1e-3, double wd = 1e-2) : Adam(lr), weight_decay(wd) {}
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/** RMSProp: v = alpha v + (1 - alpha) g^2; theta -= lr * g / (sqrt(v) + eps). */
struct RMSProp : Optimizer {
  double learning_rate = 1e-2, alpha = 0.99, eps = 1e-8;
  double lr() const override { return learning_rate; }
  std::vector<StateSpec> state() const override { return {{"square_avg"}}; }
  std::vector<ir::Val> update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                              const std::vector<ir::Val>& state) const override;
  std::string describe() const override;
};

/** Learning-rate schedule: the rate of epoch e (0-based) from the base rate. */
struct Schedule {
  enum class Kind { Constant, Step, Exponential, Cosine };
  Kind kind = Kind::Constant;
  /** Step: multiply by gamma every step_size epochs. Exponential: by gamma every epoch. */
  double gamma = 0.1;
  int step_size = 10;
  /** Cosine: anneal from the base rate to eta_min over t_max epochs. */
  int t_max = 10;
  double eta_min = 0.0;

  static Schedule constant() { return {}; }
  static Schedule step(int step_size, double gamma) { return {Kind::Step, gamma, step_size}; }
  static Schedule exponential(double gamma) { return {Kind::Exponential, gamma}; }
  static Schedule cosine(int t_max, double eta_min = 0.0) {
    return {Kind::Cosine, 0.0, 0, t_max, eta_min};
  }

  /** The learning rate of epoch `epoch` given the base rate. */
  double at(double base, int epoch) const;
};

} // namespace kiln::optim
