#pragma once
// kiln's random numbers: one small generator with fixed algorithms, so a seed gives the same
// weights and data sets on every machine and standard library (std::*_distribution does not
// promise that).

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace kiln {

/** PCG32 (O'Neill): 64-bit state, 32-bit output. Seeded by (seed, stream). */
class Rng {
public:
  explicit Rng(uint64_t seed = 0, uint64_t stream = 0) : inc_((stream << 1u) | 1u) {
    next_u32();
    state_ += seed;
    next_u32();
  }

  uint32_t next_u32() {
    const uint64_t old = state_;
    state_ = old * 6364136223846793005ull + inc_;
    const auto xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    const auto rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
  }

  /** Uniform in [0, 1) with 53 random bits. */
  double uniform() {
    const uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;
    return (static_cast<double>(hi) * 67108864.0 + static_cast<double>(lo)) *
           (1.0 / 9007199254740992.0);
  }

  /** Uniform in [lo, hi). */
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /** Standard normal (Box-Muller; the spare value is kept for the next call). */
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0)
      u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(6.283185307179586 * u2);
    has_spare_ = true;
    return r * std::cos(6.283185307179586 * u2);
  }

  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /** Uniform integer in [0, n) without modulo bias (Lemire). */
  uint32_t below(uint32_t n) {
    uint64_t m = static_cast<uint64_t>(next_u32()) * n;
    auto l = static_cast<uint32_t>(m);
    if (l < n) {
      const uint32_t t = static_cast<uint32_t>(-n) % n;
      while (l < t) {
        m = static_cast<uint64_t>(next_u32()) * n;
        l = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

  /**
   * The generator's whole state as text ("pcg32 <state> <inc> <spare?> <spare>", hex), and
   * back: a run resumed from a checkpoint draws what the run that wrote it would have drawn.
   */
  std::string state_text() const {
    uint64_t spare_bits = 0;
    std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
    char buf[96];
    std::snprintf(buf, sizeof buf, "pcg32 %016llx %016llx %d %016llx",
                  static_cast<unsigned long long>(state_), static_cast<unsigned long long>(inc_),
                  has_spare_ ? 1 : 0, static_cast<unsigned long long>(spare_bits));
    return buf;
  }
  /** The generator state_text() wrote; nullopt for any other text. */
  static std::optional<Rng> from_state_text(const std::string& text) {
    unsigned long long state = 0, inc = 0, spare_bits = 0;
    int spare = 0, used = 0;
    if (std::sscanf(text.c_str(), "pcg32 %16llx %16llx %1d %16llx%n", &state, &inc, &spare,
                    &spare_bits, &used) != 4 ||
        static_cast<size_t>(used) != text.size() || (spare != 0 && spare != 1) || (inc & 1) == 0)
      return std::nullopt;
    Rng r;
    r.state_ = state;
    r.inc_ = inc;
    r.has_spare_ = spare == 1;
    std::memcpy(&r.spare_, &spare_bits, sizeof spare_bits);
    return r;
  }

private:
  uint64_t state_ = 0;
  uint64_t inc_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

} // namespace kiln
