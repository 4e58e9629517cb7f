#include "bench/peers/eigen_mlp.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <Eigen/Core>

#include "base/error.h"

namespace kiln::bench {

namespace {

constexpr const char* kApi = "EigenMlp";

// Products use Eigen's own choice: coefficient-based below 20 rows + cols + depth, blocked GEMM
// above. Forcing lazyProduct was measured slower at every shape here (scalar inner products on
// these layouts): about 2x on W1's 10x14 layer at batch 5, and W3's 32x32 step 4x slower.

// Each layer's block of activations starts on a 64-byte boundary.
constexpr int kAlignFloats = 16;

template <typename S>
using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>; // column-major: [features, batch]
template <typename S>
using MatR = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>; // weights
template <typename S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <typename S>
using Arr = Eigen::Array<S, Eigen::Dynamic, 1>;

// The activation on a whole [features, batch] block seen as one vector: a single linear
// traversal, so Eigen peels to alignment once rather than once per column.
template <typename S>
void activate(S* z, Eigen::Index n, Activation a) {
  Eigen::Map<Arr<S>, Eigen::Aligned64> v(z, n);
  switch (a) {
  case Activation::kIdentity:
    break;
  case Activation::kTanh:
    v = v.tanh();
    break;
  case Activation::kSigmoid:
    v = v.logistic();
    break;
  case Activation::kRelu:
    v = v.max(S(0));
    break;
  }
}

// Multiplies the gradient w.r.t. an activation's output by its derivative, written in terms of
// the output a (all four activations allow it, so pre-activations are never stored).
template <typename S>
void activate_backward(S* delta, const S* out, Eigen::Index n, Activation act) {
  Eigen::Map<Arr<S>, Eigen::Aligned64> d(delta, n);
  Eigen::Map<const Arr<S>, Eigen::Aligned64> a(out, n);
  switch (act) {
  case Activation::kIdentity:
    break;
  case Activation::kTanh: // d tanh = 1 - tanh^2
    d *= S(1) - a.square();
    break;
  case Activation::kSigmoid: // d sigmoid = s (1 - s)
    d *= a * (S(1) - a);
    break;
  case Activation::kRelu:
    d = (a > S(0)).select(d, S(0));
    break;
  }
}

// dst = lhs * rhs (or += when accumulating). When one side is a vector at run time (W1's and
// W3's single input and output), Eigen's outer-product and matrix-vector kernels are used; its
// general product would pack both sides for a GEMM.
template <typename D, typename L, typename R>
void multiply(D&& dst, const L& lhs, const R& rhs, bool accumulate) {
  if (lhs.cols() == 1) {
    if (accumulate)
      dst.noalias() += lhs.col(0) * rhs.row(0);
    else
      dst.noalias() = lhs.col(0) * rhs.row(0);
    return;
  }
  if (lhs.rows() == 1) {
    if (accumulate)
      dst.row(0).noalias() += lhs.row(0) * rhs;
    else
      dst.row(0).noalias() = lhs.row(0) * rhs;
    return;
  }
  if (rhs.cols() == 1) {
    if (accumulate)
      dst.col(0).noalias() += lhs * rhs.col(0);
    else
      dst.col(0).noalias() = lhs * rhs.col(0);
    return;
  }
  if (accumulate)
    dst.noalias() += lhs * rhs;
  else
    dst.noalias() = lhs * rhs;
}

} // namespace

template <typename S>
EigenMlpT<S>::EigenMlpT(MlpSpec spec) : spec_(std::move(spec)) {
  spec_.validate(kApi);
  const int n = spec_.parameter_count();
  params_.assign(n, S(0));
  grad_.assign(n, S(0));
  adam_m_.assign(n, S(0));
  adam_v_.assign(n, S(0));
  int offset = 0;
  for (int l = 0; l < spec_.layers(); ++l) {
    const int in = spec_.widths[l], out = spec_.widths[l + 1];
    layers_.push_back({in, out, spec_.weight_offset(l), offset, spec_.activations[l]});
    offset += (out * spec_.max_batch + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
  acts_.assign(offset, S(0));
  deltas_.assign(offset, S(0));
  batch_x_.assign(size_t(spec_.max_batch) * spec_.inputs(), S(0));
  batch_y_.assign(size_t(spec_.max_batch) * spec_.target_width(), S(0));
}

template <typename S>
void EigenMlpT<S>::set_parameters(std::span<const S> flat) {
  if (int(flat.size()) != parameter_count())
    throw ShapeError(str("[", kApi, "] set_parameters: expected ", parameter_count(),
                         " parameters for ", spec_.describe(), ", got ", flat.size()));
  std::copy(flat.begin(), flat.end(), params_.begin());
  std::fill(adam_m_.begin(), adam_m_.end(), S(0));
  std::fill(adam_v_.begin(), adam_v_.end(), S(0));
  beta1_power_ = beta2_power_ = 1.0;
}

template <typename S>
void EigenMlpT<S>::get_parameters(std::span<S> flat) const {
  if (int(flat.size()) != parameter_count())
    throw ShapeError(str("[", kApi, "] get_parameters: expected room for ", parameter_count(),
                         " parameters, got ", flat.size()));
  std::copy(params_.begin(), params_.end(), flat.begin());
}

template <typename S>
void EigenMlpT<S>::forward(const S* x, int batch) {
  const S* input = x;
  for (const Layer& L : layers_) {
    Eigen::Map<const MatR<S>> w(params_.data() + L.weight, L.out, L.in);
    Eigen::Map<const Vec<S>> bias(params_.data() + L.weight + L.out * L.in, L.out);
    Eigen::Map<const Mat<S>> a(input, L.in, batch);
    S* out = acts_.data() + L.output;
    Eigen::Map<Mat<S>> z(out, L.out, batch);
    // z = W a + b: start from the bias, so the product accumulates into it (no zero fill).
    z.colwise() = bias;
    multiply(z, w, a, /*accumulate=*/true);
    activate(out, Eigen::Index(L.out) * batch, L.activation);
    input = out;
  }
}

template <typename S>
S EigenMlpT<S>::loss_and_output_gradient(const S* target, int batch, bool want_gradient) {
  const int out = spec_.outputs();
  Eigen::Map<const Mat<S>> y(acts_.data() + layers_.back().output, out, batch);
  Eigen::Map<Mat<S>> dy(deltas_.data() + layers_.back().output, out, batch);
  if (spec_.loss == Loss::kMse) {
    Eigen::Map<const Mat<S>> t(target, out, batch);
    const S inv_n = S(1) / S(out * batch);
    if (want_gradient) {
      dy = y - t;
      const S loss = dy.squaredNorm() * inv_n;
      dy *= S(2) * inv_n; // d mean((y - t)^2) / dy
      return loss;
    }
    return (y - t).squaredNorm() * inv_n;
  }
  // Softmax cross-entropy: L = logsumexp(z) - z_label, dL/dz = softmax(z) - onehot(label).
  S total = 0;
  for (int j = 0; j < batch; ++j) {
    const S label = target[j];
    const int c = int(label);
    if (!(label >= 0 && label < S(out)) || S(c) != label)
      throw DataError(str("[", kApi, "] label of sample ", j, " must be an integer in [0, ", out,
                          "), got ", label));
    const auto z = y.col(j);
    const S m = z.maxCoeff();
    auto dz = dy.col(j);
    dz.array() = (z.array() - m).exp();
    const S sum = dz.sum();
    total += std::log(sum) + m - z(c);
    if (want_gradient) {
      dz *= S(1) / (sum * S(batch));
      dz(c) -= S(1) / S(batch);
    }
  }
  return total / S(batch);
}

template <typename S>
void EigenMlpT<S>::backward(const S* x, int batch) {
  for (int l = int(layers_.size()) - 1; l >= 0; --l) {
    const Layer& L = layers_[l];
    const S* input = l == 0 ? x : acts_.data() + layers_[l - 1].output;
    Eigen::Map<const MatR<S>> w(params_.data() + L.weight, L.out, L.in);
    Eigen::Map<MatR<S>> grad_w(grad_.data() + L.weight, L.out, L.in);
    Eigen::Map<Vec<S>> grad_b(grad_.data() + L.weight + L.out * L.in, L.out);
    Eigen::Map<const Mat<S>> a(input, L.in, batch);
    S* delta = deltas_.data() + L.output;
    activate_backward(delta, acts_.data() + L.output, Eigen::Index(L.out) * batch, L.activation);
    Eigen::Map<const Mat<S>> dz(delta, L.out, batch);
    // dW = dZ a^T, db = sum of dZ over the batch, da = W^T dZ (not needed for the input)
    multiply(grad_w, dz, a.transpose(), /*accumulate=*/false);
    grad_b.noalias() = dz.rowwise().sum();
    if (l == 0)
      break;
    Eigen::Map<Mat<S>> da(deltas_.data() + layers_[l - 1].output, L.in, batch);
    multiply(da, w.transpose(), dz, /*accumulate=*/false);
  }
}

template <typename S>
S EigenMlpT<S>::loss(const S* x, const S* target, int batch) {
  check_batch(kApi, spec_, batch);
  forward(x, batch);
  return loss_and_output_gradient(target, batch, /*want_gradient=*/false);
}

template <typename S>
S EigenMlpT<S>::compute_gradient(const S* x, const S* target, int batch) {
  check_batch(kApi, spec_, batch);
  forward(x, batch);
  const S value = loss_and_output_gradient(target, batch, /*want_gradient=*/true);
  backward(x, batch);
  return value;
}

template <typename S>
void EigenMlpT<S>::apply_adam(std::span<const S> gradient) {
  if (int(gradient.size()) != parameter_count())
    throw ShapeError(str("[", kApi, "] apply_adam: expected a gradient of ", parameter_count(),
                         " values, got ", gradient.size()));
  const AdamConfig& c = spec_.adam;
  beta1_power_ *= c.beta1; // beta^t, kept as a running product: pow() costs as much as a layer
  beta2_power_ *= c.beta2;
  const double bc1 = 1.0 - beta1_power_, bc2 = 1.0 - beta2_power_;
  // PyTorch's arrangement of p -= lr * m_hat / (sqrt(v_hat) + eps), so both peers round alike.
  const S b1 = S(c.beta1), b2 = S(c.beta2), one_minus_b1 = S(1 - c.beta1),
          one_minus_b2 = S(1 - c.beta2), eps = S(c.eps);
  const S step_size = S(c.lr / bc1), inv_sqrt_bc2 = S(1.0 / std::sqrt(bc2));
  const S* __restrict g = gradient.data();
  S* __restrict p = params_.data();
  S* __restrict m = adam_m_.data();
  S* __restrict v = adam_v_.data();
  // One fused pass (vectorized: this file is built with -fno-math-errno, so sqrt is an
  // instruction); three Eigen array statements would walk the moments three times.
  const int n = parameter_count();
  for (int i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + one_minus_b1 * g[i];
    v[i] = b2 * v[i] + one_minus_b2 * g[i] * g[i];
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

template <typename S>
S EigenMlpT<S>::step(const S* x, const S* target, int batch) {
  const S value = compute_gradient(x, target, batch);
  apply_adam(grad_);
  return value;
}

template <typename S>
S EigenMlpT<S>::run_epochs(const DataView<S>& data, int epochs, int batch, uint64_t seed) {
  check_run(kApi, spec_, data, epochs, batch);
  const int in = spec_.inputs(), tw = spec_.target_width();
  order_.resize(data.count);
  std::iota(order_.begin(), order_.end(), 0);
  Rng rng(seed);
  S last_epoch = 0;
  for (int e = 0; e < epochs; ++e) {
    shuffle_epoch(order_, rng);
    S sum = 0;
    int steps = 0;
    for (int start = 0; start < data.count; start += batch, ++steps) {
      const int nb = std::min(batch, data.count - start);
      for (int i = 0; i < nb; ++i) {
        const int row = order_[start + i];
        std::copy_n(data.x + size_t(row) * in, in, batch_x_.data() + size_t(i) * in);
        std::copy_n(data.y + size_t(row) * tw, tw, batch_y_.data() + size_t(i) * tw);
      }
      sum += step(batch_x_.data(), batch_y_.data(), nb);
    }
    last_epoch = sum / S(steps);
  }
  return last_epoch;
}

template <typename S>
S EigenMlpT<S>::evaluate(const DataView<S>& data) {
  const int in = spec_.inputs(), tw = spec_.target_width();
  double total = 0;
  for (int start = 0; start < data.count; start += spec_.max_batch) {
    const int nb = std::min(spec_.max_batch, data.count - start);
    total += double(loss(data.x + size_t(start) * in, data.y + size_t(start) * tw, nb)) * nb;
  }
  return S(total / data.count);
}

void set_eigen_threads(int threads) {
  Eigen::setNbThreads(std::max(1, threads));
}

template class EigenMlpT<float>;
template class EigenMlpT<double>;

} // namespace kiln::bench
