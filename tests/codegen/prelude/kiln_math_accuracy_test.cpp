// Ulp error of every float function in kiln_math.h against libm's double result rounded to float:
// a strided sweep of each domain plus every float in the ranges where the algorithms switch
// (range-reduction boundaries, polynomial/formula splits, overflow and underflow edges).
// The same file is built twice: with the default flags and with -march=native -ffp-contract=fast
// -fno-math-errno, the flags of the CPU JIT (FMA contraction, hardware sqrt).

#include <catch2/catch.hpp>

#include <cmath>

#include "base/rng.h"
#include "codegen/prelude/kiln_math.h"
#include "tests/codegen/prelude/ulp_sweep.h"

namespace {

using kiln::test::sweep_ulp;
using kiln::test::UlpReport;
using kiln::test::worst_of;

constexpr float kInf = INFINITY;
// Strides chosen so that each function sees about a million floats of its whole domain.
constexpr int64_t kWide = 4099;

void check(const char* name, const UlpReport& r, int64_t bound) {
  INFO(r.describe(name));
  CHECK(r.evaluations > 100000);
  CHECK(r.max_ulp <= bound);
}

double sigmoid_ref(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

} // namespace

TEST_CASE("kiln_exp is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_exp(x); };
  auto ref = [](double x) { return std::exp(x); };
  check(
      "exp",
      worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide), sweep_ulp(f, ref, 0.33f, 0.36f), // k: 0 -> 1
                sweep_ulp(f, ref, -0.36f, -0.33f),       // k: 0 -> -1
                sweep_ulp(f, ref, 88.0f, 89.0f),         // overflow edge
                sweep_ulp(f, ref, -104.0f, -86.0f, 3)}), // gradual underflow
      1);
}

TEST_CASE("kiln_expm1 is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_expm1(x); };
  auto ref = [](double x) { return std::expm1(x); };
  check("expm1",
        worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide), sweep_ulp(f, ref, 0.34f, 0.36f),
                  sweep_ulp(f, ref, -0.36f, -0.34f), sweep_ulp(f, ref, 0.68f, 0.71f, 3),
                  sweep_ulp(f, ref, -18.0f, -17.0f), sweep_ulp(f, ref, 88.0f, 89.0f),
                  sweep_ulp(f, ref, -0x1p-24f, 0x1p-24f, 1031)}),
        1);
}

TEST_CASE("kiln_log is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_log(x); };
  auto ref = [](double x) { return std::log(x); };
  check("log",
        worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide), sweep_ulp(f, ref, 0.70f, 0.72f),
                  sweep_ulp(f, ref, 1.40f, 1.43f), sweep_ulp(f, ref, 0.999f, 1.001f),
                  sweep_ulp(f, ref, 0.0f, 0x1p-125f, 67)}), // subnormals
        1);
}

TEST_CASE("kiln_log1p is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_log1p(x); };
  auto ref = [](double x) { return std::log1p(x); };
  check("log1p",
        worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide), sweep_ulp(f, ref, -0.30f, -0.28f),
                  sweep_ulp(f, ref, 0.40f, 0.42f), sweep_ulp(f, ref, -1.0f, -0.999f),
                  sweep_ulp(f, ref, 0x1p-24f, 0x1p-20f, 31),
                  sweep_ulp(f, ref, -0x1p-20f, -0x1p-24f, 31)}),
        1);
}

TEST_CASE("kiln_tanh is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_tanh(x); };
  auto ref = [](double x) { return std::tanh(x); };
  check("tanh",
        worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide),
                  sweep_ulp(f, ref, 0.60f, 0.65f), // polynomial / expm1 split
                  sweep_ulp(f, ref, -0.65f, -0.60f), sweep_ulp(f, ref, -1.0f, 1.0f, 2053),
                  sweep_ulp(f, ref, 8.0f, 10.5f, 3)}),
        1);
}

TEST_CASE("kiln_sigmoid is within 2 ulp, 1 ulp for x >= 0", "[kiln_math]") {
  auto f = [](float x) { return kiln_sigmoid(x); };
  check("sigmoid",
        worst_of({sweep_ulp(f, sigmoid_ref, -kInf, kInf, kWide),
                  sweep_ulp(f, sigmoid_ref, -1.11f, -1.09f),
                  sweep_ulp(f, sigmoid_ref, -1.0f, 1.0f, 2053),
                  sweep_ulp(f, sigmoid_ref, -104.0f, -86.0f, 3)}),
        2);
  check("sigmoid, x >= 0", sweep_ulp(f, sigmoid_ref, 0.0f, kInf, 1021), 1);
}

TEST_CASE("kiln_erf is within 1 ulp", "[kiln_math]") {
  auto f = [](float x) { return kiln_erf(x); };
  auto ref = [](double x) { return std::erf(x); };
  check("erf",
        worst_of({sweep_ulp(f, ref, -kInf, kInf, kWide),
                  sweep_ulp(f, ref, 0.98f, 1.02f), // polynomial / exp split
                  sweep_ulp(f, ref, -1.02f, -0.98f), sweep_ulp(f, ref, -1.0f, 1.0f, 2053),
                  sweep_ulp(f, ref, 3.5f, 4.5f, 3)}),
        1);
}

TEST_CASE("kiln_sin and kiln_cos are within 2 ulp up to 2^21 and bounded beyond", "[kiln_math]") {
  auto s = [](float x) { return kiln_sin(x); };
  auto c = [](float x) { return kiln_cos(x); };
  auto sref = [](double x) { return std::sin(x); };
  auto cref = [](double x) { return std::cos(x); };
  constexpr float kLimit = 0x1p21f;
  check("sin",
        worst_of({sweep_ulp(s, sref, -kLimit, kLimit, kWide), sweep_ulp(s, sref, 0.78f, 0.80f),
                  sweep_ulp(s, sref, 3.14f, 3.145f), sweep_ulp(s, sref, 1e4f, 1.001e4f)}),
        2);
  check("cos",
        worst_of({sweep_ulp(c, cref, -kLimit, kLimit, kWide), sweep_ulp(c, cref, 0.78f, 0.80f),
                  sweep_ulp(c, cref, 1.57f, 1.572f), sweep_ulp(c, cref, 1e4f, 1.001e4f)}),
        2);
  // Past the accurate range the results stay finite and in [-1, 1].
  int outside = 0;
  for (float x = kLimit; x < 3e38f; x *= 1.0001f) {
    for (float v : {kiln_sin(x), kiln_cos(x), kiln_sin(-x), kiln_cos(-x)})
      outside += !(v >= -1.0f && v <= 1.0f);
  }
  CHECK(outside == 0);
}

TEST_CASE("kiln_sqrt is correctly rounded", "[kiln_math]") {
  auto f = [](float x) { return kiln_sqrt(x); };
  auto ref = [](double x) { return std::sqrt(x); };
  check("sqrt",
        worst_of({sweep_ulp(f, ref, 0.0f, kInf, 509), sweep_ulp(f, ref, 1.0f, 1.01f),
                  sweep_ulp(f, ref, 3.99f, 4.0f), sweep_ulp(f, ref, 0.0f, 0x1p-126f, 127)}),
        0);
}

TEST_CASE("kiln_pow is within 1 ulp for x > 0 and |y log x| < 88", "[kiln_math]") {
  kiln::Rng rng(7);
  UlpReport r;
  float worst_y = 0.0f;
  constexpr int kPairs = 1 << 20;
  for (int i = 0; i < kPairs; ++i) {
    // x log-uniform over the normal floats, y drawn so that |y log x| < 88.
    const auto x = static_cast<float>(std::exp(rng.uniform(-87.0, 88.0)));
    const double lx = std::log(static_cast<double>(x));
    const double ymax = lx == 0.0 ? 100.0 : 88.0 / std::fabs(lx);
    const auto y = static_cast<float>(rng.uniform(-ymax, ymax));
    const float got = kiln_pow(x, y);
    const auto want = static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)));
    const int64_t d = kiln::test::ulp_distance(got, want);
    if (d > r.max_ulp) {
      r = {d, x, got, want, 0};
      worst_y = y;
    }
  }
  r.evaluations = kPairs;
  INFO(r.describe("pow") << ", y = " << worst_y);
  CHECK(r.max_ulp <= 1);
  // Small integer powers, the common case in generated code.
  for (float y : {2.0f, 3.0f, -1.0f, 0.5f}) {
    const UlpReport p = sweep_ulp([y](float x) { return kiln_pow(x, y); },
                                  [y](double x) { return std::pow(x, static_cast<double>(y)); },
                                  -1e6f, 1e6f, kWide);
    INFO("y = " << y << ": " << p.describe("pow"));
    CHECK(p.max_ulp <= 1);
  }
}
