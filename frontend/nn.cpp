#include "frontend/nn.h"

#include <atomic>

#include "base/error.h"

namespace kiln::nn {

namespace {
/** A fresh prefix so that layers used outside a Sequential do not share names. */
std::string unique_prefix(const char* kind) {
  static std::atomic<int> counter{0};
  return kind + std::to_string(counter++) + ".";
}

/** `size` once it is known to be >= 1; called in member initializers, before the Params exist. */
int64_t checked(const char* layer, int64_t size) {
  if (size < 1)
    throw ShapeError(str("[", layer, "] sizes must be >= 1, got ", size));
  return size;
}
} // namespace

Linear::Linear(int64_t in, int64_t out, bool bias)
    : weight({checked("Linear", out), checked("Linear", in)}), bias({out}), has_bias(bias) {
  weight.init(Init::fan_in_uniform(in));
  this->bias.init(Init::fan_in_uniform(in));
  set_prefix(unique_prefix("linear"));
}

Expr Linear::forward(const Expr& x) const {
  // Rows, not samples of a batch only: a point set with its own row count works too.
  if (has_bias)
    return linear(x, weight, bias);
  return linear(x, weight);
}

std::vector<Param<>> Linear::parameters() const {
  if (has_bias)
    return {weight, bias};
  return {weight};
}

void Linear::set_prefix(const std::string& prefix) {
  weight.named(prefix + "weight");
  bias.named(prefix + "bias");
}

std::string Linear::describe() const {
  return str("Linear(in_features=", weight.dims()[1], ", out_features=", weight.dims()[0],
             ", bias=", has_bias ? "True" : "False", ")");
}

Activation Tanh() {
  return {"Tanh", [](const Expr& x, double) -> Expr { return tanh(x); }};
}
Activation Sigmoid() {
  return {"Sigmoid", [](const Expr& x, double) -> Expr { return sigmoid(x); }};
}
Activation ReLU() {
  return {"ReLU", [](const Expr& x, double) -> Expr { return relu(x); }};
}
Activation Softplus() {
  return {"Softplus", [](const Expr& x, double) -> Expr { return softplus(x); }};
}
Activation Softsign() {
  return {"Softsign", [](const Expr& x, double) -> Expr { return softsign(x); }};
}
Activation LeakyReLU(double slope) {
  return {"LeakyReLU", [](const Expr& x, double s) -> Expr { return leaky_relu(x, s); }, slope};
}
Activation GELU() {
  return {"GELU", [](const Expr& x, double) -> Expr { return gelu(x); }};
}
Activation SiLU() {
  return {"SiLU", [](const Expr& x, double) -> Expr { return silu(x); }};
}
Activation ELU() {
  return {"ELU", [](const Expr& x, double) -> Expr { return elu(x); }};
}
Activation Identity() {
  return {"Identity", [](const Expr& x, double) { return x; }};
}

Residual::Residual(int64_t width, Layer activation)
    : weight({checked("Residual", width), width}), bias({width}),
      activation_(std::move(activation)), width_(width) {
  weight.init(Init::fan_in_uniform(width));
  bias.init(Init::fan_in_uniform(width));
  set_prefix(unique_prefix("residual"));
}

Expr Residual::forward(const Expr& x) const {
  return x + activation_(linear(x, weight, bias));
}
std::vector<Param<>> Residual::parameters() const {
  return {weight, bias};
}
void Residual::set_prefix(const std::string& prefix) {
  weight.named(prefix + "weight");
  bias.named(prefix + "bias");
}
std::string Residual::describe() const {
  return str("Residual(width=", width_, ", activation=", activation_.describe(), ")");
}

Dense::Dense(int64_t in, int64_t growth, Layer activation)
    : weight({checked("Dense", growth), checked("Dense", in)}), bias({growth}),
      activation_(std::move(activation)), in_(in), growth_(growth) {
  weight.init(Init::fan_in_uniform(in));
  bias.init(Init::fan_in_uniform(in));
  set_prefix(unique_prefix("dense"));
}

Expr Dense::forward(const Expr& x) const {
  return concat(-1, x, activation_(linear(x, weight, bias)));
}
std::vector<Param<>> Dense::parameters() const {
  return {weight, bias};
}
void Dense::set_prefix(const std::string& prefix) {
  weight.named(prefix + "weight");
  bias.named(prefix + "bias");
}
std::string Dense::describe() const {
  return str("Dense(in_features=", in_, ", growth=", growth_,
             ", activation=", activation_.describe(), ")");
}

Sequential::Sequential(std::initializer_list<Layer> layers)
    : Sequential(std::vector<Layer>(layers)) {}

Sequential::Sequential(std::vector<Layer> layers) : layers_(std::move(layers)) {
  set_prefix("");
}

void Sequential::push_back(Layer layer) {
  layer.set_prefix(prefix_ + std::to_string(layers_.size()) + ".");
  layers_.push_back(std::move(layer));
}

Expr Sequential::forward(const Expr& x) const {
  Expr u = x;
  for (const Layer& l : layers_)
    u = l(u);
  return u;
}

std::vector<Param<>> Sequential::parameters() const {
  std::vector<Param<>> out;
  for (const Layer& l : layers_)
    for (const Param<>& p : l.parameters())
      out.push_back(p);
  return out;
}

void Sequential::set_prefix(const std::string& prefix) {
  prefix_ = prefix;
  for (size_t i = 0; i < layers_.size(); ++i)
    layers_[i].set_prefix(prefix + std::to_string(i) + ".");
}

std::string Sequential::describe() const {
  std::string s = "Sequential(\n";
  for (size_t i = 0; i < layers_.size(); ++i) {
    // A nested container's lines go one level deeper, as PyTorch prints them.
    std::string child = layers_[i].describe();
    for (size_t p = child.find('\n'); p != std::string::npos; p = child.find('\n', p + 3))
      child.replace(p, 1, "\n  ");
    s += "  (" + std::to_string(i) + "): " + child + "\n";
  }
  return s + ")";
}

Expr l2(const std::vector<Param<>>& params, double lambda) {
  return kiln::l2(std::vector<Expr>(params.begin(), params.end()), lambda);
}

} // namespace kiln::nn
