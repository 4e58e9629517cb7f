#include "bench/peers/kiln_mlp.h"

#include <cstring>
#include <vector>

#include "base/error.h"
#include "base/hash.h"
#include "bench/peers/kiln_slots.h"
#include "frontend/kiln.h"
#include "runtime/executable.h"
#include "train/step.h"

namespace kiln::bench {

struct KilnMlp::State {
  MlpSpec spec;
  std::optional<Executable> exe, eval;
  std::vector<std::string> params; // W0, b0, W1, b1, ... as in the flat layout
  std::vector<std::pair<std::string, double>> optimizer_state;
  StepSlots slots;
  std::vector<int32_t> labels; // cross-entropy labels as integers (the harness stores floats)
};

nn::Sequential kiln_network(const MlpSpec& spec) {
  std::vector<nn::Layer> layers;
  for (int l = 0; l < spec.layers(); ++l) {
    layers.emplace_back(
        nn::Linear(spec.widths[static_cast<size_t>(l)], spec.widths[static_cast<size_t>(l) + 1]));
    switch (spec.activations[static_cast<size_t>(l)]) {
    case Activation::kTanh:
      layers.emplace_back(nn::Tanh());
      break;
    case Activation::kSigmoid:
      layers.emplace_back(nn::Sigmoid());
      break;
    case Activation::kRelu:
      layers.emplace_back(nn::ReLU());
      break;
    case Activation::kIdentity:
      break;
    }
  }
  return nn::Sequential(std::move(layers));
}

KilnMlp::KilnMlp(const MlpSpec& spec, const KilnMlpOptions& options)
    : s_(std::make_unique<State>()) {
  spec.validate("[KilnMlp]");
  s_->spec = spec;
  const nn::Sequential net = kiln_network(spec);
  Input y{{spec.inputs()}, "y"};
  const bool ce = spec.loss == Loss::kCrossEntropy;
  const Lowered l = ce ? lower({{"loss", cross_entropy(net(y), Labels(spec.outputs(), "c"))}})
                       : lower({{"loss", mse(net(y), Target{{spec.outputs()}, "c"})}});
  for (const Param<>& p : net.parameters())
    s_->params.push_back(p.name());
  optim::Adam adam(spec.adam.lr);
  adam.beta1 = spec.adam.beta1;
  adam.beta2 = spec.adam.beta2;
  adam.eps = spec.adam.eps;
  const StepGraph sg = build_step(l.graph, adam, s_->params);
  s_->optimizer_state = sg.state;
  CompileOptions co{.name = "bench_step", .cache = options.cache, .updates = sg.updates};
  if (options.trainer_kernel) {
    co.epoch = codegen::EpochSpec{{"y", "c"}, {"loss"}};
    co.batch_hint = spec.max_batch;
  }
  s_->exe.emplace(Executable::compile(sg.graph, co));
  s_->labels.resize(static_cast<size_t>(spec.max_batch));
  s_->slots.bind(*s_->exe, static_cast<float>(spec.adam.lr), spec.max_batch);
  s_->exe->set_params(init_parameters(l.params, 0, ir::DType::F64));
  if (options.eval_kernel) {
    s_->eval.emplace(
        Executable::compile(l.graph, {.name = "bench_eval",
                                      .cache = options.cache,
                                      .evaluate = codegen::EpochSpec{{"y", "c"}, {"loss"}}}));
    for (const std::string& p : s_->params)
      s_->eval->bind_param(p, s_->exe->param_data(p));
  }
}

KilnMlp::~KilnMlp() = default;
KilnMlp::KilnMlp(KilnMlp&&) noexcept = default;

void KilnMlp::set_parameters(std::span<const float> flat) {
  const MlpSpec& spec = s_->spec;
  for (int l = 0; l < spec.layers(); ++l) {
    const int in = spec.widths[static_cast<size_t>(l)],
              out = spec.widths[static_cast<size_t>(l) + 1];
    const int off = spec.weight_offset(l);
    std::memcpy(s_->exe->param_data(s_->params[2 * static_cast<size_t>(l)]), flat.data() + off,
                sizeof(float) * in * out);
    std::memcpy(s_->exe->param_data(s_->params[2 * static_cast<size_t>(l) + 1]),
                flat.data() + off + in * out, sizeof(float) * out);
  }
  for (const auto& [name, init] : s_->optimizer_state) {
    const MatrixRM cur = s_->exe->param(name);
    s_->exe->set_param(name, MatrixRM::Constant(cur.rows(), cur.cols(), static_cast<float>(init)));
  }
}

void KilnMlp::get_parameters(std::span<float> flat) const {
  const MlpSpec& spec = s_->spec;
  for (int l = 0; l < spec.layers(); ++l) {
    const int in = spec.widths[static_cast<size_t>(l)],
              out = spec.widths[static_cast<size_t>(l) + 1];
    const int off = spec.weight_offset(l);
    std::memcpy(flat.data() + off, s_->exe->param_data(s_->params[2 * static_cast<size_t>(l)]),
                sizeof(float) * in * out);
    std::memcpy(flat.data() + off + in * out,
                s_->exe->param_data(s_->params[2 * static_cast<size_t>(l) + 1]),
                sizeof(float) * out);
  }
}

bool KilnMlp::kernel_from_cache() const {
  return s_->exe->from_cache();
}

float KilnMlp::step(const float* x, const float* target, int batch) {
  State& s = *s_;
  s.slots.table[s.slots.y] = const_cast<float*>(x);
  if (s.spec.loss == Loss::kCrossEntropy) {
    for (int i = 0; i < batch; ++i)
      s.labels[static_cast<size_t>(i)] = static_cast<int32_t>(target[i]);
    s.slots.table[s.slots.c] = s.labels.data();
  } else {
    s.slots.table[s.slots.c] = const_cast<float*>(target);
  }
  s.exe->call(batch, s.slots.table.data());
  return s.slots.loss;
}

float KilnMlp::evaluate(const DataView<float>& data) {
  State& s = *s_;
  KILN_ASSERT(s.eval, "KilnMlp::evaluate without an evaluation kernel");
  if (s.spec.loss != Loss::kCrossEntropy)
    return static_cast<float>(s.eval->evaluate(data.count, {data.x, data.y})[0]);
  std::vector<int32_t> labels(static_cast<size_t>(data.count));
  for (int i = 0; i < data.count; ++i)
    labels[static_cast<size_t>(i)] = static_cast<int32_t>(data.y[i]);
  return static_cast<float>(s.eval->evaluate(data.count, {data.x, labels.data()})[0]);
}

float KilnMlp::run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed) {
  State& s = *s_;
  std::vector<int32_t> labels;
  const void* target = data.y;
  if (s.spec.loss == Loss::kCrossEntropy) {
    labels.resize(static_cast<size_t>(data.count));
    for (int i = 0; i < data.count; ++i)
      labels[static_cast<size_t>(i)] = static_cast<int32_t>(data.y[i]);
    target = labels.data();
  }
  MatrixRM lr(1, 1);
  lr(0, 0) = s.slots.lr;
  double last = 0;
  for (int e = 0; e < epochs; ++e)
    last = s.exe->run_epoch(data.count, batch, true, hash_combine(seed, static_cast<uint64_t>(e)),
                            {data.x, target}, {{"lr", lr}})[0];
  return static_cast<float>(last);
}

} // namespace kiln::bench
