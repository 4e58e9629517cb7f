#include "bench/peers/torch_cnn.h"

#include <torch/torch.h>

#include "base/error.h"

namespace kiln::bench {

struct TorchCnn::Impl {
  torch::nn::Sequential net;
  std::unique_ptr<torch::optim::Adam> adam;
  torch::Tensor labels; // int64 [batch]
};

TorchCnn::TorchCnn(const CnnSpec& spec) : spec_(spec), impl_(std::make_unique<Impl>()) {
  namespace nn = torch::nn;
  impl_->net = nn::Sequential(
      nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(32, 64, 3)),
      nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)), nn::Dropout(spec.dropout1), nn::Flatten(),
      nn::Linear(9216, 128), nn::ReLU(), nn::Dropout(spec.dropout2), nn::Linear(128, 10));
  impl_->net->train();
  impl_->adam = std::make_unique<torch::optim::Adam>(impl_->net->parameters(),
                                                     torch::optim::AdamOptions(spec.lr));
  impl_->labels = torch::zeros({spec.batch}, torch::kInt64);
}

TorchCnn::~TorchCnn() = default;
TorchCnn::TorchCnn(TorchCnn&&) noexcept = default;

void TorchCnn::set_parameters(std::span<const float> flat) {
  if (static_cast<int64_t>(flat.size()) != CnnSpec::parameter_count())
    throw ShapeError(str("[TorchCnn] set_parameters: expected ", CnnSpec::parameter_count(),
                         " parameters, got ", flat.size()));
  torch::NoGradGuard no_grad;
  size_t off = 0;
  for (auto& p : impl_->net->parameters()) { // state_dict order: weight, bias per layer
    const auto n = static_cast<size_t>(p.numel());
    p.copy_(torch::from_blob(const_cast<float*>(flat.data()) + off, p.sizes()));
    off += n;
  }
  impl_->adam = std::make_unique<torch::optim::Adam>(impl_->net->parameters(),
                                                     torch::optim::AdamOptions(spec_.lr));
}

float TorchCnn::step(const float* x, const float* labels, int batch) {
  if (batch < 1 || batch > spec_.batch)
    throw ShapeError(str("[TorchCnn] batch must be in [1, ", spec_.batch, "], got ", batch));
  const auto input = torch::from_blob(const_cast<float*>(x), {batch, 1, 28, 28});
  auto* l = impl_->labels.data_ptr<int64_t>();
  for (int i = 0; i < batch; ++i)
    l[i] = static_cast<int64_t>(labels[i]);
  impl_->adam->zero_grad();
  const auto loss = torch::nn::functional::cross_entropy(impl_->net->forward(input),
                                                         impl_->labels.narrow(0, 0, batch));
  loss.backward();
  impl_->adam->step();
  return loss.item<float>();
}

} // namespace kiln::bench
