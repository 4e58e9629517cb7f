// Special values (infinities, NaN, signed zeros, overflow and underflow edges) of kiln_math.h,
// and the double overloads against libm.

#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/rng.h"
#include "codegen/prelude/kiln_math.h"
#include "tests/codegen/prelude/ulp_sweep.h"

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kDenormMin = std::numeric_limits<float>::denorm_min();

/** Same value, including the sign of zero; any NaN matches any NaN. */
bool same(float a, float b) {
  if (a != a || b != b)
    return a != a && b != b;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

struct Case {
  const char* name;
  float (*f)(float);
  float x;
  float want;
};

int64_t double_ulp_distance(double a, double b) {
  int64_t i, j;
  std::memcpy(&i, &a, sizeof i);
  std::memcpy(&j, &b, sizeof j);
  i = i < 0 ? -(i & INT64_MAX) : i;
  j = j < 0 ? -(j & INT64_MAX) : j;
  return i > j ? i - j : j - i;
}

} // namespace

TEST_CASE("kiln_math float functions give the C99 special values", "[kiln_math]") {
  const Case cases[] = {
      {"exp", [](float x) { return kiln_exp(x); }, kInf, kInf},
      {"exp", [](float x) { return kiln_exp(x); }, -kInf, 0.0f},
      {"exp", [](float x) { return kiln_exp(x); }, kNan, kNan},
      {"exp", [](float x) { return kiln_exp(x); }, 0.0f, 1.0f},
      {"exp", [](float x) { return kiln_exp(x); }, -0.0f, 1.0f},
      {"exp", [](float x) { return kiln_exp(x); }, 88.8f, kInf},
      {"exp", [](float x) { return kiln_exp(x); }, -104.0f, 0.0f},
      {"exp", [](float x) { return kiln_exp(x); }, -1e30f, 0.0f},
      {"expm1", [](float x) { return kiln_expm1(x); }, kInf, kInf},
      {"expm1", [](float x) { return kiln_expm1(x); }, -kInf, -1.0f},
      {"expm1", [](float x) { return kiln_expm1(x); }, kNan, kNan},
      {"expm1", [](float x) { return kiln_expm1(x); }, -0.0f, -0.0f},
      {"expm1", [](float x) { return kiln_expm1(x); }, kDenormMin, kDenormMin},
      {"expm1", [](float x) { return kiln_expm1(x); }, 88.8f, kInf},
      {"expm1", [](float x) { return kiln_expm1(x); }, -30.0f, -1.0f},
      {"log", [](float x) { return kiln_log(x); }, 0.0f, -kInf},
      {"log", [](float x) { return kiln_log(x); }, -0.0f, -kInf},
      {"log", [](float x) { return kiln_log(x); }, -1.0f, kNan},
      {"log", [](float x) { return kiln_log(x); }, -kInf, kNan},
      {"log", [](float x) { return kiln_log(x); }, -kDenormMin, kNan},
      {"log", [](float x) { return kiln_log(x); }, kInf, kInf},
      {"log", [](float x) { return kiln_log(x); }, kNan, kNan},
      {"log", [](float x) { return kiln_log(x); }, 1.0f, 0.0f},
      {"log1p", [](float x) { return kiln_log1p(x); }, -1.0f, -kInf},
      {"log1p", [](float x) { return kiln_log1p(x); }, -2.0f, kNan},
      {"log1p", [](float x) { return kiln_log1p(x); }, -kInf, kNan},
      {"log1p", [](float x) { return kiln_log1p(x); }, kInf, kInf},
      {"log1p", [](float x) { return kiln_log1p(x); }, kNan, kNan},
      {"log1p", [](float x) { return kiln_log1p(x); }, -0.0f, -0.0f},
      {"log1p", [](float x) { return kiln_log1p(x); }, kDenormMin, kDenormMin},
      {"tanh", [](float x) { return kiln_tanh(x); }, kInf, 1.0f},
      {"tanh", [](float x) { return kiln_tanh(x); }, -kInf, -1.0f},
      {"tanh", [](float x) { return kiln_tanh(x); }, kNan, kNan},
      {"tanh", [](float x) { return kiln_tanh(x); }, -0.0f, -0.0f},
      {"tanh", [](float x) { return kiln_tanh(x); }, -kDenormMin, -kDenormMin},
      {"tanh", [](float x) { return kiln_tanh(x); }, 1e30f, 1.0f},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, kInf, 1.0f},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, -kInf, 0.0f},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, kNan, kNan},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, 0.0f, 0.5f},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, -0.0f, 0.5f},
      {"sigmoid", [](float x) { return kiln_sigmoid(x); }, -200.0f, 0.0f},
      {"erf", [](float x) { return kiln_erf(x); }, kInf, 1.0f},
      {"erf", [](float x) { return kiln_erf(x); }, -kInf, -1.0f},
      {"erf", [](float x) { return kiln_erf(x); }, kNan, kNan},
      {"erf", [](float x) { return kiln_erf(x); }, -0.0f, -0.0f},
      {"sin", [](float x) { return kiln_sin(x); }, kInf, kNan},
      {"sin", [](float x) { return kiln_sin(x); }, -kInf, kNan},
      {"sin", [](float x) { return kiln_sin(x); }, kNan, kNan},
      {"sin", [](float x) { return kiln_sin(x); }, -0.0f, -0.0f},
      {"cos", [](float x) { return kiln_cos(x); }, kInf, kNan},
      {"cos", [](float x) { return kiln_cos(x); }, kNan, kNan},
      {"cos", [](float x) { return kiln_cos(x); }, -0.0f, 1.0f},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, -1.0f, kNan},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, -kInf, kNan},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, -0.0f, -0.0f},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, kInf, kInf},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, kNan, kNan},
      {"sqrt", [](float x) { return kiln_sqrt(x); }, 0x1p-148f, 0x1p-74f},
      {"abs", [](float x) { return kiln_abs(x); }, -0.0f, 0.0f},
      {"abs", [](float x) { return kiln_abs(x); }, -kInf, kInf},
      {"abs", [](float x) { return kiln_abs(x); }, -kNan, kNan},
      {"relu", [](float x) { return kiln_relu(x); }, kNan, kNan},
      {"relu", [](float x) { return kiln_relu(x); }, -kInf, 0.0f},
      {"relu", [](float x) { return kiln_relu(x); }, -0.0f, -0.0f},
      {"relu", [](float x) { return kiln_relu(x); }, 3.0f, 3.0f},
  };
  for (const Case& c : cases) {
    const float got = c.f(c.x);
    INFO(c.name << "(" << c.x << ") = " << got << ", want " << c.want);
    CHECK(same(got, c.want));
  }
}

TEST_CASE("kiln_exp and kiln_sigmoid underflow gradually to the correctly rounded subnormal",
          "[kiln_math]") {
  for (float x : {-88.0f, -95.5f, -100.0f, -103.9f}) {
    INFO("x = " << x);
    CHECK(kiln_exp(x) == static_cast<float>(std::exp(static_cast<double>(x))));
    CHECK(kiln_exp(x) < FLT_MIN);
    CHECK(kiln::test::ulp_distance(kiln_sigmoid(x),
                                   static_cast<float>(1.0 / (1.0 + std::exp(-double(x))))) <= 1);
  }
}

TEST_CASE("kiln_max and kiln_min are a > b ? a : b and a < b ? a : b, NaN included",
          "[kiln_math]") {
  CHECK(kiln_max(1.0f, 2.0f) == 2.0f);
  CHECK(kiln_max(-1.0f, -2.0f) == -1.0f);
  CHECK(kiln_min(1.0f, 2.0f) == 1.0f);
  CHECK(kiln_max(kNan, 1.0f) == 1.0f);
  CHECK(std::isnan(kiln_max(1.0f, kNan)));
  CHECK(kiln_min(kNan, 1.0f) == 1.0f);
  CHECK(std::isnan(kiln_min(1.0f, kNan)));
  CHECK(kiln_max(-kInf, kInf) == kInf);
  CHECK(kiln_max(1.0, 2.0) == 2.0);
  CHECK(std::isnan(kiln_min(1.0, std::nan(""))));
  CHECK(kiln_max(3, -4) == 3);
  CHECK(kiln_min(3LL, -4LL) == -4LL);
}

TEST_CASE("kiln_pow follows C99 on zeros, ones, infinities, NaN and negative bases",
          "[kiln_math]") {
  const float xs[] = {0.0f,  -0.0f, 1.0f,  -1.0f, 2.0f,       -2.0f, 0.5f,
                      -0.5f, kInf,  -kInf, kNan,  kDenormMin, -3.0f};
  const float ys[] = {0.0f,  -0.0f, 1.0f,  -1.0f, 2.0f,  3.0f,           -3.0f, 0.5f,
                      -0.5f, kInf,  -kInf, kNan,  1e10f, 0x1p23f + 1.0f, 1e-30f};
  for (float x : xs) {
    for (float y : ys) {
      const float got = kiln_pow(x, y);
      const auto want =
          static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)));
      INFO("pow(" << x << ", " << y << ") = " << got << ", want " << want);
      if (want != want || std::isinf(want) || want == 0.0f)
        CHECK(same(got, want));
      else
        CHECK(kiln::test::ulp_distance(got, want) <= 1);
    }
  }
}

TEST_CASE("kiln_math double overloads match libm; sigmoid is within 1 ulp", "[kiln_math]") {
  kiln::Rng rng(11);
  int64_t sigmoid_ulp = 0;
  int mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    const double x = rng.uniform(-40.0, 40.0) * (i % 2 ? 1.0 : rng.uniform());
    const double p = std::fabs(x) + 1e-3;
    mismatches += kiln_exp(x) != std::exp(x);
    mismatches += kiln_expm1(x) != std::expm1(x);
    mismatches += kiln_log(p) != std::log(p);
    mismatches += kiln_log1p(p) != std::log1p(p);
    mismatches += kiln_tanh(x) != std::tanh(x);
    mismatches += kiln_erf(x) != std::erf(x);
    mismatches += kiln_sin(x) != std::sin(x);
    mismatches += kiln_cos(x) != std::cos(x);
    mismatches += kiln_sqrt(p) != std::sqrt(p);
    mismatches += kiln_pow(p, x) != std::pow(p, x);
    mismatches += kiln_abs(x) != std::fabs(x);
    mismatches += kiln_relu(x) != (x < 0.0 ? 0.0 : x);
    // Reference in long double, from e^-|x| <= 1 so that nothing cancels.
    const long double e = std::exp(-std::fabs(static_cast<long double>(x)));
    const auto want = static_cast<double>((x < 0.0 ? e : 1.0L) / (1.0L + e));
    const int64_t d = double_ulp_distance(kiln_sigmoid(x), want);
    sigmoid_ulp = d > sigmoid_ulp ? d : sigmoid_ulp;
  }
  CHECK(mismatches == 0);
  CHECK(sigmoid_ulp <= 1);
  CHECK(kiln_sigmoid(std::numeric_limits<double>::infinity()) == 1.0);
  CHECK(kiln_sigmoid(-std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(std::isnan(kiln_sigmoid(std::nan(""))));
  CHECK(std::isnan(kiln_relu(std::nan(""))));
  CHECK(std::signbit(kiln_abs(-0.0)) == false);
}
