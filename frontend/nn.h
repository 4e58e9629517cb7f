#pragma once
// Layers, as in torch.nn: modules that map an expression to an expression and own their
// parameters. Parameter names and initial values follow PyTorch's, so checkpoints line up
// ("0.weight", "0.bias" inside a Sequential; U(-1/sqrt(in), 1/sqrt(in)) for Linear).

#include <concepts>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "frontend/losses.h"
#include "frontend/ops.h"

namespace kiln::nn {

/** A layer: forward(x) builds its expression; it owns its parameters. */
class Module {
public:
  virtual ~Module() = default;
  virtual Expr forward(const Expr& x) const = 0;
  /** The module's parameters (children's included), in PyTorch's order. */
  virtual std::vector<Param<>> parameters() const { return {}; }
  /** Names every parameter `prefix` + its local name ("weight"); containers extend the prefix. */
  virtual void set_prefix(const std::string& prefix) {}
  /** One line, as PyTorch prints it: "Linear(in_features=2, out_features=14)". */
  virtual std::string describe() const = 0;
};

/** A value handle to any module (what Sequential holds). Copies share the module. */
class Layer {
public:
  template <std::derived_from<Module> M>
  Layer(M m) : m_(std::make_shared<M>(std::move(m))) {}

  Expr operator()(const Expr& x) const { return m_->forward(x); }
  std::vector<Param<>> parameters() const { return m_->parameters(); }
  void set_prefix(const std::string& prefix) { m_->set_prefix(prefix); }
  std::string describe() const { return m_->describe(); }

private:
  std::shared_ptr<Module> m_;
};

/** y = W x + b for each sample, W [out, in]. */
class Linear : public Module {
public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Expr forward(const Expr& x) const override;
  std::vector<Param<>> parameters() const override;
  void set_prefix(const std::string& prefix) override;
  std::string describe() const override;

  Param<> weight;
  Param<> bias;
  bool has_bias;
};

/** An elementwise activation as a layer. */
class Activation : public Module {
public:
  using Fn = Expr (*)(const Expr&, double);
  Activation(std::string name, Fn fn, double arg = 0.0)
      : name_(std::move(name)), fn_(fn), arg_(arg) {}
  Expr forward(const Expr& x) const override { return fn_(x, arg_); }
  std::string describe() const override { return name_ + "()"; }

private:
  std::string name_;
  Fn fn_;
  double arg_;
};

Activation Tanh();
Activation Sigmoid();
Activation ReLU();
Activation Softplus();
Activation Softsign();
Activation LeakyReLU(double negative_slope = 0.01);
Activation GELU();
Activation SiLU();
Activation ELU();
Activation Identity();

/** The course's residual layer u + sigma(K u + b), K [width, width]. */
class Residual : public Module {
public:
  explicit Residual(int64_t width, Layer activation = Tanh());
  Expr forward(const Expr& x) const override;
  std::vector<Param<>> parameters() const override;
  void set_prefix(const std::string& prefix) override;
  std::string describe() const override;

  Param<> weight;
  Param<> bias;

private:
  Layer activation_;
  int64_t width_;
};

/** DenseNet-style layer: concat(u, sigma(K u + b)); the width grows by `growth`. */
class Dense : public Module {
public:
  Dense(int64_t in_features, int64_t growth, Layer activation = Tanh());
  Expr forward(const Expr& x) const override;
  std::vector<Param<>> parameters() const override;
  void set_prefix(const std::string& prefix) override;
  std::string describe() const override;

  Param<> weight;
  Param<> bias;

private:
  Layer activation_;
  int64_t in_, growth_;
};

/** Layers applied in order; children's parameters are named "<index>.<name>". */
class Sequential : public Module {
public:
  Sequential(std::initializer_list<Layer> layers);
  explicit Sequential(std::vector<Layer> layers);
  /** Appends a layer (named by its index). */
  void push_back(Layer layer);
  Expr forward(const Expr& x) const override;
  std::vector<Param<>> parameters() const override;
  void set_prefix(const std::string& prefix) override;
  std::string describe() const override;
  size_t size() const { return layers_.size(); }

  Expr operator()(const Expr& x) const { return forward(x); }

private:
  std::vector<Layer> layers_;
  std::string prefix_;
};

/** The L2 regularizer over a module's parameters: lambda/2 * sum ||theta||^2. */
Expr l2(const std::vector<Param<>>& params, double lambda);

} // namespace kiln::nn
