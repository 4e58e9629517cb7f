#include "bench/peers/torch_mlp.h"

#include <dlfcn.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include <torch/torch.h>

#include "base/error.h"

namespace kiln::bench {

namespace {

constexpr const char* kApi = "TorchMlp";

torch::optim::AdamOptions adam_options(const AdamConfig& c) {
  return torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps);
}

} // namespace

struct TorchMlp::Impl {
  torch::nn::Sequential net;
  std::vector<torch::nn::Linear> linears;
  std::unique_ptr<torch::optim::Adam> adam;
  torch::Tensor labels;   // int64 [max_batch], filled from the float labels
  std::vector<int> order; // run_epochs' sample order
  std::vector<float> batch_x, batch_y;
};

TorchMlp::TorchMlp(MlpSpec spec) : spec_(std::move(spec)), impl_(std::make_unique<Impl>()) {
  spec_.validate(kApi);
  for (int l = 0; l < spec_.layers(); ++l) {
    impl_->linears.emplace_back(spec_.widths[l], spec_.widths[l + 1]);
    impl_->net->push_back(impl_->linears.back());
    switch (spec_.activations[l]) {
    case Activation::kIdentity:
      break;
    case Activation::kTanh:
      impl_->net->push_back(torch::nn::Tanh());
      break;
    case Activation::kSigmoid:
      impl_->net->push_back(torch::nn::Sigmoid());
      break;
    case Activation::kRelu:
      impl_->net->push_back(torch::nn::ReLU());
      break;
    }
  }
  impl_->adam =
      std::make_unique<torch::optim::Adam>(impl_->net->parameters(), adam_options(spec_.adam));
  impl_->labels = torch::zeros({spec_.max_batch}, torch::kInt64);
  impl_->batch_x.resize(size_t(spec_.max_batch) * spec_.inputs());
  impl_->batch_y.resize(size_t(spec_.max_batch) * spec_.target_width());
}

TorchMlp::~TorchMlp() = default;
TorchMlp::TorchMlp(TorchMlp&&) noexcept = default;
TorchMlp& TorchMlp::operator=(TorchMlp&&) noexcept = default;

void TorchMlp::set_parameters(std::span<const float> flat) {
  if (int(flat.size()) != parameter_count())
    throw ShapeError(str("[", kApi, "] set_parameters: expected ", parameter_count(),
                         " parameters for ", spec_.describe(), ", got ", flat.size()));
  torch::NoGradGuard no_grad;
  for (int l = 0; l < spec_.layers(); ++l) {
    const int in = spec_.widths[l], out = spec_.widths[l + 1];
    auto* p = const_cast<float*>(flat.data()) + spec_.weight_offset(l); // from_blob reads only
    impl_->linears[l]->weight.copy_(torch::from_blob(p, {out, in}));
    impl_->linears[l]->bias.copy_(torch::from_blob(p + out * in, {out}));
  }
  impl_->adam =
      std::make_unique<torch::optim::Adam>(impl_->net->parameters(), adam_options(spec_.adam));
}

void TorchMlp::get_parameters(std::span<float> flat) const {
  if (int(flat.size()) != parameter_count())
    throw ShapeError(str("[", kApi, "] get_parameters: expected room for ", parameter_count(),
                         " parameters, got ", flat.size()));
  for (int l = 0; l < spec_.layers(); ++l) {
    const int out = spec_.widths[l + 1], in = spec_.widths[l];
    const auto w = impl_->linears[l]->weight.contiguous();
    const auto b = impl_->linears[l]->bias.contiguous();
    float* dst = flat.data() + spec_.weight_offset(l);
    std::copy_n(w.data_ptr<float>(), out * in, dst);
    std::copy_n(b.data_ptr<float>(), out, dst + out * in);
  }
}

float TorchMlp::step(const float* x, const float* target, int batch) {
  check_batch(kApi, spec_, batch);
  // from_blob wraps the caller's rows without a copy; autograd never writes to inputs.
  const auto input = torch::from_blob(const_cast<float*>(x), {batch, spec_.inputs()});
  impl_->adam->zero_grad();
  const auto output = impl_->net->forward(input);
  torch::Tensor loss;
  if (spec_.loss == Loss::kMse) {
    const auto t = torch::from_blob(const_cast<float*>(target), {batch, spec_.outputs()});
    loss = torch::mse_loss(output, t);
  } else {
    auto* labels = impl_->labels.data_ptr<int64_t>();
    for (int j = 0; j < batch; ++j)
      labels[j] = int64_t(target[j]);
    loss = torch::nn::functional::cross_entropy(output, impl_->labels.narrow(0, 0, batch));
  }
  loss.backward();
  impl_->adam->step();
  return loss.item<float>();
}

float TorchMlp::run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed) {
  check_run(kApi, spec_, data, epochs, batch);
  const int in = spec_.inputs(), tw = spec_.target_width();
  auto& order = impl_->order;
  order.resize(data.count);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  float last_epoch = 0;
  for (int e = 0; e < epochs; ++e) {
    shuffle_epoch(order, rng);
    float sum = 0;
    int steps = 0;
    for (int start = 0; start < data.count; start += batch, ++steps) {
      const int nb = std::min(batch, data.count - start);
      for (int i = 0; i < nb; ++i) {
        const int row = order[start + i];
        std::copy_n(data.x + size_t(row) * in, in, impl_->batch_x.data() + size_t(i) * in);
        std::copy_n(data.y + size_t(row) * tw, tw, impl_->batch_y.data() + size_t(i) * tw);
      }
      sum += step(impl_->batch_x.data(), impl_->batch_y.data(), nb);
    }
    last_epoch = sum / float(steps);
  }
  return last_epoch;
}

float TorchMlp::evaluate(const DataView<float>& data) {
  torch::NoGradGuard no_grad;
  const auto input = torch::from_blob(const_cast<float*>(data.x), {data.count, spec_.inputs()});
  const auto output = impl_->net->forward(input);
  if (spec_.loss == Loss::kMse)
    return torch::mse_loss(
               output, torch::from_blob(const_cast<float*>(data.y), {data.count, spec_.outputs()}))
        .item<float>();
  const auto labels = torch::from_blob(const_cast<float*>(data.y), {data.count}).to(torch::kInt64);
  return torch::nn::functional::cross_entropy(output, labels).item<float>();
}

void set_torch_threads(int threads) {
  threads = std::max(1, threads);
  torch::set_num_threads(threads);
  // An OpenMP OpenBLAS follows omp_set_num_threads (which torch calls); a pthreads one does not.
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(threads);
}

} // namespace kiln::bench
