#include "train/optim.h"

#include <cmath>

#include "base/error.h"

namespace kiln::optim {

namespace {
// Scalars of the step (lr, t, bias corrections) broadcast against the parameter.
ir::Val like(const ir::Val& scalar, const ir::Val& theta) {
  return ir::broadcast_to(scalar, theta.shape());
}
} // namespace

std::vector<ir::Val> SGD::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                 const std::vector<ir::Val>&) const {
  return {theta - like(c.lr, theta) * g};
}
std::string SGD::describe() const {
  return str("SGD(lr=", learning_rate, ")");
}

std::vector<ir::Val> Momentum::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                      const std::vector<ir::Val>& s) const {
  const ir::Val m = beta * s[0] + (1.0 - beta) * g;
  return {theta - like(c.lr, theta) * m, m};
}
std::string Momentum::describe() const {
  return str("Momentum(lr=", learning_rate, ", beta=", beta, ")");
}

std::vector<ir::Val> SGDTorch::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                      const std::vector<ir::Val>& s) const {
  const ir::Val first = like(ir::less(c.step, 1.5), theta); // t == 1
  const ir::Val b = ir::select(first, g, momentum * s[0] + (1.0 - dampening) * g);
  const ir::Val direction = nesterov ? g + momentum * b : b;
  return {theta - like(c.lr, theta) * direction, b};
}
std::string SGDTorch::describe() const {
  return str("SGD(lr=", learning_rate, ", momentum=", momentum, ", dampening=", dampening,
             ", nesterov=", nesterov ? "True" : "False", ")");
}

std::vector<ir::Val> AdaGrad::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                     const std::vector<ir::Val>& s) const {
  const ir::Val v = s[0] + ir::square(g);
  const ir::Val denom = eps_inside_sqrt ? ir::sqrt(v + eps) : ir::sqrt(v) + eps;
  return {theta - like(c.lr, theta) * g / denom, v};
}
std::string AdaGrad::describe() const {
  return str("Adagrad(lr=", learning_rate, ", eps=", eps,
             eps_inside_sqrt ? ", eps inside sqrt" : "", ")");
}

std::vector<ir::Val> Adam::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                  const std::vector<ir::Val>& s) const {
  const ir::Val m = beta1 * s[0] + (1.0 - beta1) * g;
  const ir::Val v = beta2 * s[1] + (1.0 - beta2) * ir::square(g);
  // Bias corrections are per-step scalars: computed once, broadcast into the update.
  const ir::Val c1 = 1.0 - ir::pow(ir::constant_like(c.step, beta1), c.step);
  const ir::Val c2 = 1.0 - ir::pow(ir::constant_like(c.step, beta2), c.step);
  // As PyTorch: denom = sqrt(v) / sqrt(1 - b2^t) + eps, step = lr / (1 - b1^t).
  const ir::Val step_size = c.lr / c1;
  const ir::Val denom = ir::sqrt(v) / like(ir::sqrt(c2), theta) + eps;
  return {theta - like(step_size, theta) * (m / denom), m, v};
}
std::string Adam::describe() const {
  return str("Adam(lr=", learning_rate, ", betas=(", beta1, ", ", beta2, "), eps=", eps, ")");
}

std::vector<ir::Val> AdamW::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                   const std::vector<ir::Val>& s) const {
  const ir::Val decayed = theta - like(c.lr, theta) * (weight_decay * theta);
  return Adam::update(c, decayed, g, s);
}
std::string AdamW::describe() const {
  return str("AdamW(lr=", learning_rate, ", betas=(", beta1, ", ", beta2, "), eps=", eps,
             ", weight_decay=", weight_decay, ")");
}

std::vector<ir::Val> RMSProp::update(const UpdateCtx& c, const ir::Val& theta, const ir::Val& g,
                                     const std::vector<ir::Val>& s) const {
  const ir::Val v = alpha * s[0] + (1.0 - alpha) * ir::square(g);
  return {theta - like(c.lr, theta) * g / (ir::sqrt(v) + eps), v};
}
std::string RMSProp::describe() const {
  return str("RMSprop(lr=", learning_rate, ", alpha=", alpha, ", eps=", eps, ")");
}

double Schedule::at(double base, int epoch) const {
  switch (kind) {
  case Kind::Constant:
    return base;
  case Kind::Step:
    return base * std::pow(gamma, epoch / std::max(step_size, 1));
  case Kind::Exponential:
    return base * std::pow(gamma, epoch);
  case Kind::Cosine:
    return eta_min + (base - eta_min) *
                         (1.0 + std::cos(M_PI * std::min(epoch, t_max) / std::max(t_max, 1))) / 2.0;
  }
  return base;
}

} // namespace kiln::optim
