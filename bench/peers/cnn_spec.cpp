#include "bench/peers/cnn_spec.h"

#include <cmath>

#include "base/rng.h"

namespace kiln::bench {

const std::vector<int64_t>& CnnSpec::parameter_sizes() {
  static const std::vector<int64_t> sizes{32 * 9,     32,  64 * 32 * 9, 64,
                                          128 * 9216, 128, 10 * 128,    10};
  return sizes;
}

int64_t CnnSpec::parameter_count() {
  int64_t n = 0;
  for (int64_t s : parameter_sizes())
    n += s;
  return n;
}

double CnnSpec::step_flops(int batch) {
  // Multiply-adds per image of each layer's forward product.
  const double conv1 = 32.0 * 26 * 26 * 9, conv2 = 64.0 * 24 * 24 * 32 * 9, fc1 = 128.0 * 9216,
               fc2 = 10.0 * 128;
  const double forward = conv1 + conv2 + fc1 + fc2;
  // Backward: every weight gradient, and the input gradients of all layers but the first.
  return 2.0 * batch * (forward + forward + (forward - conv1));
}

std::vector<float> cnn_default_init(uint64_t seed) {
  // fan_in of each tensor's layer: 1*3*3, 1*3*3, 32*3*3, 32*3*3, 9216, 9216, 128, 128.
  const double fan_in[] = {9, 9, 288, 288, 9216, 9216, 128, 128};
  Rng rng(seed);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(CnnSpec::parameter_count()));
  const std::vector<int64_t>& sizes = CnnSpec::parameter_sizes();
  for (size_t t = 0; t < sizes.size(); ++t) {
    const double bound = 1.0 / std::sqrt(fan_in[t]);
    for (int64_t i = 0; i < sizes[t]; ++i)
      out.push_back(static_cast<float>(rng.uniform(-bound, bound)));
  }
  return out;
}

CnnData cnn_data(int count, uint64_t seed) {
  Rng rng(seed);
  CnnData d{std::vector<float>(static_cast<size_t>(count) * 784),
            std::vector<float>(static_cast<size_t>(count)), count};
  for (float& v : d.x)
    v = static_cast<float>(rng.normal());
  for (float& v : d.y)
    v = static_cast<float>(rng.below(10));
  return d;
}

} // namespace kiln::bench
