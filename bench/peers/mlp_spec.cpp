#include "bench/peers/mlp_spec.h"

#include <cmath>
#include <utility>

#include "base/error.h"

namespace kiln::bench {

namespace {

const char* activation_name(Activation a) {
  switch (a) {
  case Activation::kIdentity:
    return "identity";
  case Activation::kTanh:
    return "tanh";
  case Activation::kSigmoid:
    return "sigmoid";
  case Activation::kRelu:
    return "relu";
  }
  return "?";
}

} // namespace

int MlpSpec::parameter_count() const {
  return weight_offset(layers());
}

int MlpSpec::weight_offset(int l) const {
  int offset = 0;
  for (int i = 0; i < l; ++i)
    offset += widths[i + 1] * (widths[i] + 1);
  return offset;
}

double MlpSpec::step_flops(int batch) const {
  double macs = 0;
  for (int l = 0; l < layers(); ++l)
    macs += double(widths[l]) * widths[l + 1];
  return 6.0 * batch * macs;
}

std::string MlpSpec::describe() const {
  std::string s;
  for (size_t i = 0; i < widths.size(); ++i)
    s += (i ? "-" : "") + std::to_string(widths[i]);
  s += " ";
  for (size_t i = 0; i < activations.size(); ++i)
    s += std::string(i ? "," : "") + activation_name(activations[i]);
  s += loss == Loss::kMse ? " mse" : " cross_entropy";
  return s;
}

void MlpSpec::validate(const char* api) const {
  if (widths.size() < 2)
    throw ShapeError(str("[", api, "] an MLP needs at least 2 widths (inputs and outputs), got ",
                         widths.size()));
  for (size_t i = 0; i < widths.size(); ++i)
    if (widths[i] < 1)
      throw ShapeError(str("[", api, "] width ", i, " must be positive, got ", widths[i]));
  if (activations.size() != widths.size() - 1)
    throw ShapeError(str("[", api, "] expected one activation per layer (", widths.size() - 1,
                         "), got ", activations.size()));
  if (max_batch < 1)
    throw ShapeError(str("[", api, "] max_batch must be at least 1, got ", max_batch));
}

std::vector<float> pytorch_default_init(const MlpSpec& spec, uint64_t seed) {
  spec.validate("pytorch_default_init");
  Rng rng(seed, /*stream=*/0x1417);
  std::vector<float> params(spec.parameter_count());
  size_t k = 0;
  for (int l = 0; l < spec.layers(); ++l) {
    const double bound = 1.0 / std::sqrt(double(spec.widths[l]));
    const int count = spec.widths[l + 1] * (spec.widths[l] + 1); // weight then bias
    for (int i = 0; i < count; ++i)
      params[k++] = float(rng.uniform(-bound, bound));
  }
  return params;
}

void shuffle_epoch(std::span<int> order, Rng& rng) {
  for (size_t i = order.size(); i > 1; --i) {
    const uint32_t j = rng.below(uint32_t(i));
    std::swap(order[i - 1], order[j]);
  }
}

void check_batch(const char* api, const MlpSpec& spec, int batch) {
  if (batch < 1 || batch > spec.max_batch)
    throw ShapeError(str("[", api, "] batch must be in [1, ", spec.max_batch,
                         "] (the spec's max_batch), got ", batch));
}

template <typename S>
void check_run(const char* api, const MlpSpec& spec, const DataView<S>& data, int epochs,
               int batch) {
  if (data.count < 1 || data.x == nullptr || data.y == nullptr)
    throw ShapeError(
        str("[", api, "] expected a data set with at least one sample and both x and y set, got ",
            data.count, " samples"));
  if (epochs < 0)
    throw ShapeError(str("[", api, "] epochs must be >= 0, got ", epochs));
  check_batch(api, spec, batch);
}

template void check_run<float>(const char*, const MlpSpec&, const DataView<float>&, int, int);
template void check_run<double>(const char*, const MlpSpec&, const DataView<double>&, int, int);

} // namespace kiln::bench
