#include "bench/peers/eigen_padded_mlp.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <Eigen/Core>

#include "base/error.h"

namespace kiln::bench {

namespace {

constexpr const char* kApi = "EigenPaddedMlp";
constexpr int P = 16; // floats per AVX-512 register: every hidden layer is this wide
constexpr int kMaxBatch = 64;

using Vec = Eigen::Matrix<float, P, 1>;
using Arr = Eigen::Array<float, P, 1>;

/** act(z), on a whole register. */
inline Vec activate(const Vec& z, Activation a) {
  switch (a) {
  case Activation::kIdentity:
    return z;
  case Activation::kTanh:
    return z.array().tanh().matrix();
  case Activation::kSigmoid:
    return z.array().logistic().matrix();
  case Activation::kRelu:
    return z.cwiseMax(0.0f);
  }
  return z;
}

/** d act / dz from the activation's output a, on a whole register. */
inline Arr derivative(const Vec& a, Activation act) {
  switch (act) {
  case Activation::kIdentity:
    return Arr::Ones();
  case Activation::kTanh:
    return 1.0f - a.array().square();
  case Activation::kSigmoid:
    return a.array() * (1.0f - a.array());
  case Activation::kRelu:
    return (a.array() > 0.0f).cast<float>();
  }
  return Arr::Ones();
}

/**
 * The fixed-shape trainer: In inputs, two hidden layers padded to P, Out outputs, MSE or
 * cross-entropy. Parameters, gradients and Adam's moments are one flat array each, every block
 * a multiple of P floats and 64-byte aligned; weights are column-major, so column k of a layer
 * is what input k contributes to all of its outputs.
 */
template <int In, int Out, bool CrossEntropy>
class Fixed {
  static constexpr int kW1 = 0;             // [P, In]
  static constexpr int kB1 = kW1 + P * In;  // [P]
  static constexpr int kW2 = kB1 + P;       // [P, P]
  static constexpr int kB2 = kW2 + P * P;   // [P]
  static constexpr int kW3 = kB2 + P;       // [Out, P]
  static constexpr int kB3 = kW3 + Out * P; // [Out], padded to P
  static constexpr int kTotal = kB3 + P;
  static_assert(kTotal % P == 0, "whole registers");

  using W1 = Eigen::Matrix<float, P, In>;
  using W2 = Eigen::Matrix<float, P, P>;
  using W3 = Eigen::Matrix<float, Out, P>;
  using OutVec = Eigen::Matrix<float, Out, 1>;
  using InVec = Eigen::Matrix<float, In, 1>;
  template <class M>
  using Map = Eigen::Map<M, Eigen::Aligned64>;
  using Flat = Eigen::Map<Eigen::Array<float, kTotal, 1>, Eigen::Aligned64>;

public:
  explicit Fixed(const MlpSpec& spec) : spec_(spec) {
    h1_ = spec.widths[1];
    h2_ = spec.widths[2];
    for (int j = 0; j < P; ++j) {
      mask1_(j) = j < h1_ ? 1.0f : 0.0f;
      mask2_(j) = j < h2_ ? 1.0f : 0.0f;
    }
    std::fill(std::begin(p_), std::end(p_), 0.0f);
    reset_adam();
  }

  void set_parameters(std::span<const float> flat) {
    if (int(flat.size()) != spec_.parameter_count())
      throw ShapeError(str("[", kApi, "] set_parameters: expected ", spec_.parameter_count(),
                           " parameters for ", spec_.describe(), ", got ", flat.size()));
    std::fill(std::begin(p_), std::end(p_), 0.0f);
    transfer(const_cast<float*>(flat.data()), /*in=*/true);
    reset_adam();
  }

  void get_parameters(std::span<float> flat) const {
    if (int(flat.size()) != spec_.parameter_count())
      throw ShapeError(str("[", kApi, "] get_parameters: expected room for ",
                           spec_.parameter_count(), " parameters, got ", flat.size()));
    const_cast<Fixed*>(this)->transfer(flat.data(), /*in=*/false);
  }

  float step(const float* x, const float* target, int batch) {
    check_batch(kApi, spec_, batch);
    if (batch > kMaxBatch)
      throw ShapeError(str("[", kApi, "] batch ", batch, " exceeds ", kMaxBatch));
    Map<const W1> w1(p_ + kW1);
    Map<const Vec> b1(p_ + kB1);
    Map<const W2> w2(p_ + kW2);
    Map<const Vec> b2(p_ + kB2);
    Map<const W3> w3(p_ + kW3);
    Map<const OutVec> b3(p_ + kB3);
    // Forward, layer by layer over the batch: the samples' FMA chains are independent.
    for (int r = 0; r < batch; ++r)
      a1_[r] = (activate(b1 + w1 * Map1<InVec>(x + r * In), act(0)).array() * mask1_).matrix();
    for (int r = 0; r < batch; ++r)
      a2_[r] = (activate(b2 + w2 * a1_[r], act(1)).array() * mask2_).matrix();
    float loss = 0;
    for (int r = 0; r < batch; ++r)
      loss +=
          output_gradient(b3 + w3 * a2_[r], target + r * (CrossEntropy ? 1 : Out), batch, dy_[r]);
    // Backward: gradients accumulate over the batch; padded lanes stay exactly zero.
    Flat(g_).setZero();
    Map<W1> g1(g_ + kW1);
    Map<Vec> gb1(g_ + kB1);
    Map<W2> g2(g_ + kW2);
    Map<Vec> gb2(g_ + kB2);
    Map<W3> g3(g_ + kW3);
    Map<OutVec> gb3(g_ + kB3);
    for (int r = 0; r < batch; ++r) {
      g3.noalias() += dy_[r] * a2_[r].transpose();
      gb3 += dy_[r];
      dz2_[r] = ((w3.transpose() * dy_[r]).array() * derivative(a2_[r], act(1))).matrix();
    }
    for (int r = 0; r < batch; ++r) {
      g2.noalias() += dz2_[r] * a1_[r].transpose();
      gb2 += dz2_[r];
      const Vec dz1 = ((w2.transpose() * dz2_[r]).array() * derivative(a1_[r], act(0))).matrix();
      g1.noalias() += dz1 * Map1<InVec>(x + r * In).transpose();
      gb1 += dz1;
    }
    adam();
    return loss;
  }

  float evaluate(const DataView<float>& data) {
    Map<const W1> w1(p_ + kW1);
    Map<const Vec> b1(p_ + kB1);
    Map<const W2> w2(p_ + kW2);
    Map<const Vec> b2(p_ + kB2);
    Map<const W3> w3(p_ + kW3);
    Map<const OutVec> b3(p_ + kB3);
    double total = 0;
    const int tw = CrossEntropy ? 1 : Out;
    OutVec unused;
    for (int r = 0; r < data.count; ++r) {
      const Vec a1 = activate(b1 + w1 * Map1<InVec>(data.x + size_t(r) * In), act(0));
      const Vec a2 = (activate(b2 + w2 * a1, act(1)).array() * mask2_).matrix();
      total += output_gradient(b3 + w3 * a2, data.y + size_t(r) * tw, 1, unused);
    }
    return float(total / data.count);
  }

  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t seed) {
    check_run(kApi, spec_, data, epochs, batch);
    const int tw = CrossEntropy ? 1 : Out;
    order_.resize(size_t(data.count));
    std::iota(order_.begin(), order_.end(), 0);
    Rng rng(seed);
    float last_epoch = 0;
    for (int e = 0; e < epochs; ++e) {
      shuffle_epoch(order_, rng);
      float sum = 0;
      int steps = 0;
      for (int start = 0; start < data.count; start += batch, ++steps) {
        const int nb = std::min(batch, data.count - start);
        for (int i = 0; i < nb; ++i) {
          const int row = order_[size_t(start + i)];
          std::copy_n(data.x + size_t(row) * In, In, batch_x_ + i * In);
          std::copy_n(data.y + size_t(row) * tw, tw, batch_y_ + i * tw);
        }
        sum += step(batch_x_, batch_y_, nb);
      }
      last_epoch = sum / float(steps);
    }
    return last_epoch;
  }

private:
  template <class M>
  using Map1 = Eigen::Map<const M>; // a sample's row: no alignment

  Activation act(int l) const { return spec_.activations[size_t(l)]; }

  void reset_adam() {
    std::fill(std::begin(m_), std::end(m_), 0.0f);
    std::fill(std::begin(v_), std::end(v_), 0.0f);
    beta1_power_ = beta2_power_ = 1.0;
  }

  /** Copies between PyTorch's flat layout and the padded blocks (in: flat to padded). */
  void transfer(float* flat, bool in) {
    auto move = [&](int flat_index, int padded_index) {
      if (in)
        p_[padded_index] = flat[flat_index];
      else
        flat[flat_index] = p_[padded_index];
    };
    const int sizes[4] = {In, h1_, h2_, Out};
    const int blocks[3][2] = {{kW1, kB1}, {kW2, kB2}, {kW3, kB3}};
    const int rows_padded[3] = {P, P, Out};
    for (int l = 0; l < 3; ++l) {
      const int in = sizes[l], out = sizes[l + 1], off = spec_.weight_offset(l);
      for (int j = 0; j < out; ++j)
        for (int k = 0; k < in; ++k) // row-major [out, in] to column-major padded
          move(off + j * in + k, blocks[l][0] + k * rows_padded[l] + j);
      for (int j = 0; j < out; ++j)
        move(off + in * out + j, blocks[l][1] + j);
    }
  }

  /** The loss of one sample (already divided by the batch) and d loss / d output into dy. */
  float output_gradient(const OutVec& y, const float* target, int batch, OutVec& dy) const {
    if constexpr (CrossEntropy) {
      const float label = target[0];
      const int c = int(label);
      if (!(label >= 0 && label < float(Out)) || float(c) != label)
        throw DataError(
            str("[", kApi, "] label must be an integer in [0, ", Out, "), got ", label));
      const float m = y.maxCoeff();
      const OutVec e = (y.array() - m).exp().matrix();
      const float s = e.sum();
      dy = e / (s * float(batch));
      dy(c) -= 1.0f / float(batch);
      return (std::log(s) + m - y(c)) / float(batch);
    } else {
      const OutVec d = y - Eigen::Map<const OutVec>(target);
      const float inv_n = 1.0f / float(Out * batch);
      dy = (2.0f * inv_n) * d;
      return d.squaredNorm() * inv_n;
    }
  }

  /** Adam over the flat arrays: whole registers, the padding included (it stays zero). */
  void adam() {
    const AdamConfig& c = spec_.adam;
    beta1_power_ *= c.beta1;
    beta2_power_ *= c.beta2;
    const float step_size = float(c.lr / (1.0 - beta1_power_)),
                inv_sqrt_bc2 = float(1.0 / std::sqrt(1.0 - beta2_power_));
    Flat p(p_), g(g_), m(m_), v(v_);
    m = float(c.beta1) * m + float(1 - c.beta1) * g;
    v = float(c.beta2) * v + float(1 - c.beta2) * g.square();
    p -= step_size * m / (v.sqrt() * inv_sqrt_bc2 + float(c.eps));
  }

  MlpSpec spec_;
  int h1_ = 0, h2_ = 0;
  Arr mask1_, mask2_;
  alignas(64) float p_[kTotal], g_[kTotal], m_[kTotal], v_[kTotal];
  double beta1_power_ = 1, beta2_power_ = 1;
  Vec a1_[kMaxBatch], a2_[kMaxBatch], dz2_[kMaxBatch];
  OutVec dy_[kMaxBatch];
  float batch_x_[kMaxBatch * In], batch_y_[kMaxBatch * Out];
  std::vector<int> order_;
};

} // namespace

struct EigenPaddedMlp::Impl {
  virtual ~Impl() = default;
  virtual void set_parameters(std::span<const float> flat) = 0;
  virtual void get_parameters(std::span<float> flat) const = 0;
  virtual float step(const float* x, const float* target, int batch) = 0;
  virtual float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t s) = 0;
  virtual float evaluate(const DataView<float>& data) = 0;
};

namespace {
template <int In, int Out, bool CrossEntropy>
struct ImplFor final : EigenPaddedMlp::Impl {
  explicit ImplFor(const MlpSpec& spec) : net(spec) {}
  void set_parameters(std::span<const float> flat) override { net.set_parameters(flat); }
  void get_parameters(std::span<float> flat) const override { net.get_parameters(flat); }
  float step(const float* x, const float* target, int batch) override {
    return net.step(x, target, batch);
  }
  float run_epochs(const DataView<float>& data, int epochs, int batch, uint64_t s) override {
    return net.run_epochs(data, epochs, batch, s);
  }
  float evaluate(const DataView<float>& data) override { return net.evaluate(data); }
  Fixed<In, Out, CrossEntropy> net;
};
} // namespace

bool padded_mlp_supports(const MlpSpec& spec) {
  if (spec.widths.size() != 4 || spec.widths[1] > P || spec.widths[2] > P ||
      spec.max_batch > kMaxBatch)
    return false;
  const bool w1 = spec.widths[0] == 1 && spec.widths[3] == 1 && spec.loss == Loss::kMse;
  const bool w2 = spec.widths[0] == 2 && spec.widths[3] == 3 && spec.loss == Loss::kCrossEntropy;
  return w1 || w2;
}

EigenPaddedMlp::EigenPaddedMlp(const MlpSpec& spec) {
  spec.validate(kApi);
  if (!padded_mlp_supports(spec))
    throw ShapeError(str("[", kApi, "] has no fixed-shape instance for ", spec.describe()));
  if (spec.widths[0] == 1)
    impl_ = std::make_unique<ImplFor<1, 1, false>>(spec);
  else
    impl_ = std::make_unique<ImplFor<2, 3, true>>(spec);
}

EigenPaddedMlp::~EigenPaddedMlp() = default;
EigenPaddedMlp::EigenPaddedMlp(EigenPaddedMlp&&) noexcept = default;

void EigenPaddedMlp::set_parameters(std::span<const float> flat) {
  impl_->set_parameters(flat);
}
void EigenPaddedMlp::get_parameters(std::span<float> flat) const {
  impl_->get_parameters(flat);
}
float EigenPaddedMlp::step(const float* x, const float* target, int batch) {
  return impl_->step(x, target, batch);
}
float EigenPaddedMlp::run_epochs(const DataView<float>& data, int epochs, int batch,
                                 uint64_t seed) {
  return impl_->run_epochs(data, epochs, batch, seed);
}
float EigenPaddedMlp::evaluate(const DataView<float>& data) {
  return impl_->evaluate(data);
}

} // namespace kiln::bench
