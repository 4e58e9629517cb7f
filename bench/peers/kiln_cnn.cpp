#include "bench/peers/kiln_cnn.h"

#include <cstring>
#include <vector>

#include "base/error.h"
#include "bench/peers/kiln_slots.h"
#include "frontend/kiln.h"
#include "runtime/executable.h"
#include "train/problem.h"

namespace kiln::bench {

struct KilnCnn::State {
  CnnSpec spec;
  std::optional<Executable> exe;
  std::vector<std::string> params; // in the flat layout's order
  std::vector<std::pair<std::string, double>> optimizer_state;
  StepSlots slots;
  std::vector<int32_t> labels;
};

nn::Sequential cnn_network(const CnnSpec& spec) {
  return nn::Sequential{nn::Unflatten(1, {1, 28, 28}),
                        nn::Conv2d(1, 32, 3, 1),
                        nn::ReLU(),
                        nn::Conv2d(32, 64, 3, 1),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Dropout(spec.dropout1, 1),
                        nn::Flatten(),
                        nn::Linear(9216, 128),
                        nn::ReLU(),
                        nn::Dropout(spec.dropout2, 2),
                        nn::Linear(128, 10)};
}

KilnCnn::KilnCnn(const CnnSpec& spec) : s_(std::make_unique<State>()) {
  s_->spec = spec;
  const nn::Sequential net = cnn_network(spec);
  for (const Param<>& p : net.parameters())
    s_->params.push_back(p.name());
  // The Trainer's problem: a step lowered for training, Adam's update fused in.
  const train::ProblemGraphs g = train::build(train::supervised(
      net, 784, 10, Loss::cross_entropy(), std::make_shared<optim::Adam>(spec.lr)));
  const StepGraph& sg = *g.step;
  s_->optimizer_state = sg.state;
  s_->exe.emplace(Executable::compile(
      sg.graph, {.name = "bench_cnn_step", .updates = sg.updates, .batch_hint = spec.batch}));
  s_->labels.resize(static_cast<size_t>(spec.batch));
  s_->slots.bind(*s_->exe, static_cast<float>(spec.lr), spec.batch);
  s_->exe->set_params(init_parameters(g.params, 0, ir::DType::F64));
}

KilnCnn::~KilnCnn() = default;
KilnCnn::KilnCnn(KilnCnn&&) noexcept = default;

void KilnCnn::set_parameters(std::span<const float> flat) {
  if (static_cast<int64_t>(flat.size()) != CnnSpec::parameter_count())
    throw ShapeError(str("[KilnCnn] set_parameters: expected ", CnnSpec::parameter_count(),
                         " parameters, got ", flat.size()));
  const std::vector<int64_t>& sizes = CnnSpec::parameter_sizes();
  size_t off = 0;
  for (size_t t = 0; t < sizes.size(); ++t) {
    std::memcpy(s_->exe->param_data(s_->params[t]), flat.data() + off,
                sizeof(float) * static_cast<size_t>(sizes[t]));
    off += static_cast<size_t>(sizes[t]);
  }
  for (const auto& [name, init] : s_->optimizer_state) {
    const MatrixRM cur = s_->exe->param(name);
    s_->exe->set_param(name, MatrixRM::Constant(cur.rows(), cur.cols(), static_cast<float>(init)));
  }
}

float KilnCnn::step(const float* x, const float* labels, int batch) {
  State& s = *s_;
  for (int i = 0; i < batch; ++i)
    s.labels[static_cast<size_t>(i)] = static_cast<int32_t>(labels[i]);
  s.slots.table[s.slots.y] = const_cast<float*>(x);
  s.slots.table[s.slots.c] = s.labels.data();
  s.exe->call(batch, s.slots.table.data());
  return s.slots.loss;
}

} // namespace kiln::bench
