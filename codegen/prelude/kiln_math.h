/**
 * kiln_math: the scalar math every generated CPU kernel starts with.
 *
 * The text of this header (kiln::codegen::kKilnMathSource) is pasted at the top of generated C++
 * and of the ahead-of-time .cpp files, so it includes nothing, uses nothing from the standard
 * library, defines no globals and compiles as C++17 with clang 14 and g++ 12. The float functions
 * are straight-line code (selects, no calls, no tables in memory), so loops that call them
 * vectorize with clang 14 and g++ 12 at -O3 -march=native (AVX2 or AVX-512); libm's tanhf and
 * expf calls do not (LLVM 14 has no vector tanhf). At baseline x86-64 (SSE2) g++ leaves some of
 * them scalar.
 *
 * Assumes IEEE-754 binary32/binary64, round-to-nearest and no -ffast-math (the NaN and infinity
 * handling relies on IEEE comparisons). -ffp-contract=fast is fine: every reduction step is exact
 * with or without fused multiply-adds. Subnormals are supported (no flush-to-zero assumed).
 *
 * Float accuracy: the max distance in ulp from libm's double result rounded to float. Checked on
 * every float of the ranges shown (outside them the result is a constant, x itself or a rounding
 * of it, checked on samples), with g++ -O2 (no FMA) and clang 14 -O3 -march=native
 * -ffp-contract=fast (FMA):
 *
 *   kiln_exp      1 ulp  -104 < x < 104; subnormal results are correctly rounded, exp(x) = 0
 *                        below -103.98, inf above 88.72
 *   kiln_expm1    1 ulp  -18 < x < 89
 *   kiln_log      1 ulp  every x > 0, subnormals included
 *   kiln_log1p    1 ulp  -1 < x < 2^30
 *   kiln_tanh     1 ulp  |x| < 10
 *   kiln_sigmoid  2 ulp  -104 < x < 20 (1 ulp for x >= 0); below -87.3 the result is subnormal,
 *                        within 2 subnormal ulp, and 0 below -103.98
 *   kiln_erf      1 ulp  |x| < 4
 *   kiln_sin/cos  2 ulp  |x| < 2^21 (about 2.1e6), and in samples up to 2^24. Beyond, the error
 *                        grows like |x| 2^-53 (the reduction by pi/2 is done in double) but the
 *                        result stays in [-1, 1]; +-inf gives NaN
 *   kiln_pow      1 ulp  x > 0 and |y log x| < 88 (random samples); larger |y log x| overflows
 *                        to inf or underflows (gradually) to 0
 *   kiln_sqrt     0 ulp  every x >= 0 (correctly rounded)
 *
 * Special values follow C99 Annex F: exp(+inf) = inf, exp(-inf) = 0, exp overflows to inf;
 * log(0) = -inf, log(x < 0) = NaN, log(inf) = inf; log1p(-1) = -inf; tanh(+-inf) = +-1;
 * sigmoid(+inf) = 1, sigmoid(-inf) = 0; erf(+-inf) = +-1; sin/cos(+-inf) = NaN; sqrt(-0) = -0,
 * sqrt(x < 0) = NaN; the odd functions keep the sign of zero. pow: see kiln_pow. A NaN argument
 * gives NaN everywhere except kiln_max/kiln_min (see there) and pow(NaN, 0) = pow(1, NaN) = 1.
 *
 * The double overloads call libm through the compiler builtins, except sigmoid (long double),
 * abs, relu, max and min; each is within 1 ulp of the exact result.
 *
 * The polynomial coefficients were derived for kiln by derive_kiln_math.py, beside this header
 * (near-minimax fits by Lawson's algorithm on Chebyshev nodes against mpmath, coefficients rounded
 * to float one at a time with refits); that script also prints the split constants. Each
 * polynomial's comment gives the fit's own error; the table above is the whole function's.
 */
// An include guard rather than pragma once: the text is also compiled as a main file.
#ifndef KILN_CODEGEN_PRELUDE_KILN_MATH_H_
#define KILN_CODEGEN_PRELUDE_KILN_MATH_H_

namespace kiln_math {

typedef unsigned int u32;
typedef unsigned long long u64;
static_assert(sizeof(u32) == 4 && sizeof(u64) == 8 && sizeof(float) == 4 && sizeof(double) == 8,
              "kiln_math needs 32-bit int, 64-bit long long and IEEE float/double");

static inline u32 bits(float x) {
  return __builtin_bit_cast(u32, x);
}
static inline u64 bits(double x) {
  return __builtin_bit_cast(u64, x);
}
static inline float float_from(u32 b) {
  return __builtin_bit_cast(float, b);
}
static inline double double_from(u64 b) {
  return __builtin_bit_cast(double, b);
}

static inline float inf() {
  return float_from(0x7f800000u);
}
static inline float nan() {
  return float_from(0x7fc00000u);
}
static inline float abs(float x) {
  return float_from(bits(x) & 0x7fffffffu);
}
static inline float copy_sign(float magnitude, float sign) {
  return float_from((bits(magnitude) & 0x7fffffffu) | (bits(sign) & 0x80000000u));
}
/**
 * c ? a : b, with both a and b evaluated. g++ (under its default -ftrapping-math) sinks work
 * that only one arm of a ?: needs into a branch and then will not speculate it back, which leaves
 * the loop scalar; the masks keep both arms live. clang turns this back into a blend.
 */
static inline float select(bool c, float a, float b) {
  u32 m = 0u - u32(c);
  return float_from((bits(a) & m) | (bits(b) & ~m));
}
static inline double select(bool c, double a, double b) {
  u64 m = 0ull - u64(c);
  return double_from((bits(a) & m) | (bits(b) & ~m));
}

/** 2^k as a float, for -126 <= k <= 127. */
static inline float pow2(int k) {
  return float_from(u32(k + 127) << 23);
}

// Adding 1.5 * 2^23 rounds a float of magnitude < 2^22 to an integer k and leaves k in the low
// mantissa bits, so k comes out of the bits without a float-to-int conversion (whose NaN/overflow
// cases are undefined behaviour).
constexpr float kRoundShifter = 0x1.8p23f;
constexpr double kRoundShifterD = 0x1.8p52;

// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 15 significant bits, so k * kLn2Hi is exact for |k| < 512.
constexpr float kLn2Hi = 0x1.62e4p-1f;
constexpr float kLn2Lo = 0x1.7f7d1cp-20f;
constexpr float kLog2E = 1.44269502f;

/** expm1(r) for |r| <= 0.347. Fit error 0.0073 * 2^-24 relative. */
static inline float expm1_poly(float r) {
  float q = 0.00019764257f;
  q = q * r + 0.00139323471f;
  q = q * r + 0.00833354332f;
  q = q * r + 0.0416664928f;
  q = q * r + 0.166666657f;
  q = q * r + 0.5f;
  return r + (r * r) * q;
}

/** x = k ln2 + r with |r| <= 0.347, for |x| < 2^21. */
struct Ln2Split {
  float r;
  int k;
};
static inline Ln2Split split_ln2(float x) {
  float t = x * kLog2E + kRoundShifter;
  float k = t - kRoundShifter;
  // k * kLn2Hi is exact and x - k * kLn2Hi cancels exactly (Sterbenz), with or without FMA.
  float r = x - k * kLn2Hi;
  r = r - k * kLn2Lo;
  return {r, int(bits(t) - bits(kRoundShifter))};
}

/** e^x for -104 <= x <= 89 (or NaN); overflows to inf and underflows gradually to 0. */
static inline float exp_core(float x) {
  Ln2Split s = split_ln2(x);
  float p = 1.0f + expm1_poly(s.r);
  // 2^k in two factors: k reaches 128 and -150, and the second product rounds a subnormal
  // result once, correctly.
  int k1 = s.k / 2;
  return p * pow2(k1) * pow2(s.k - k1);
}

/** e^x - 1 for -18 <= x <= 89 (or NaN). */
static inline float expm1_core(float x) {
  Ln2Split s = split_ln2(x);
  float p = expm1_poly(s.r);
  // e^x - 1 = 2 (h p + (h - 1/2)) with h = 2^(k-1): normal for k in [-26, 128], exact for k = 0.
  float h = pow2(s.k - 1);
  return 2.0f * (h * p + (h - 0.5f));
}

/**
 * log(1 + f) + tail for -0.2929 <= f <= 0.4143 and a small tail, which joins the small terms
 * before the exact f. Fit error 0.070 * 2^-24 relative.
 */
static inline float log1p_poly(float f, float tail) {
  float p = -0.0762471557f;
  p = p * f + 0.129146218f;
  p = p * f + -0.132470831f;
  p = p * f + 0.141805977f;
  p = p * f + -0.166084528f;
  p = p * f + 0.200020134f;
  p = p * f + -0.250016093f;
  p = p * f + 0.333333254f;
  p = p * f + -0.499999881f;
  return f + ((f * f) * p + tail);
}

/** u = 2^e * m with m in [sqrt(1/2), sqrt(2)), for normal u > 0. */
struct LogSplit {
  float m;
  int e;
};
static inline LogSplit split_log(float u) {
  u32 b = bits(u);
  // Adding 1 - sqrt(1/2) to the mantissa carries into the exponent exactly when m >= sqrt(2).
  int e = int((b + (0x3f800000u - 0x3f3504f3u)) >> 23) - 127;
  return {float_from(b - (u32(e) << 23)), e};
}

/** e ln2 + log(1 + f) + tail, for a tail much smaller than f. */
static inline float log_combine(float e, float f, float tail) {
  return e * kLn2Hi + (e * kLn2Lo + log1p_poly(f, tail));
}

/** tanh(x) = x + x^3 T(x^2) for |x| <= kTanhSplit. Fit error 0.0030 * 2^-24 relative. */
constexpr float kTanhSplit = 0.625f;
static inline float tanh_poly(float x) {
  float s = x * x;
  float t = 0.00215268391f;
  t = t * s + -0.00819001347f;
  t = t * s + 0.021706894f;
  t = t * s + -0.0539481789f;
  t = t * s + 0.133332208f;
  t = t * s + -0.333333313f;
  return x + (x * s) * t;
}

/** erf(x) = x + x E(x^2) for |x| <= 1. Fit error 0.024 * 2^-24 relative. */
static inline float erf_poly(float x) {
  float s = x * x;
  float p = 7.80690316e-05f;
  p = p * s + -0.00079978531f;
  p = p * s + 0.0051871622f;
  p = p * s + -0.0268533472f;
  p = p * s + 0.112835787f;
  p = p * s + -0.37612626f;
  p = p * s + 0.128379166f;
  return x + x * p;
}

/**
 * log(erfc(x)) for 1 <= x <= 4 as a polynomial in x - 1 (expanded at the low end, where the
 * weight is largest, so that no large intermediate rounds there). Fit error 0.16 * 2^-24 relative
 * to erf(x) (weighted by erfc/erf), mostly the rounding of the constant term.
 */
static inline float log_erfc_poly(float x) {
  float u = x - 1.0f;
  float p = -6.22682956e-06f;
  p = p * u + 0.00020707275f;
  p = p * u + -0.00184443011f;
  p = p * u + 0.00988206081f;
  p = p * u + -0.0414819792f;
  p = p * u + -0.843126535f;
  p = p * u + -2.63896561f;
  p = p * u + -1.84960556f;
  return p;
}

/** sin(r) = r + r^3 S(r^2) for |r| <= 0.786. Fit error 0.0027 * 2^-24 relative. */
static inline float sin_poly(float r) {
  float s = r * r;
  float p = 2.83254872e-06f;
  p = p * s + -0.000198530659f;
  p = p * s + 0.0083333794f;
  p = p * s + -0.166666672f;
  return r + (r * s) * p;
}

/** cos(r) = 1 - r^2/2 + r^4 C(r^2) for |r| <= 0.786. Fit error 0.00012 * 2^-24 relative. */
static inline float cos_poly(float r) {
  float s = r * r;
  float p = -2.88791426e-07f;
  p = p * s + 2.48220113e-05f;
  p = p * s + -0.001388898f;
  p = p * s + 0.0416666679f;
  return (1.0f - 0.5f * s) + (s * s) * p;
}

// pi/2 = kPio2Hi + kPio2Lo to 2^-105; kPio2Hi has 26 significant bits, so k * kPio2Hi is exact
// for |k| < 2^27.
constexpr double kPio2Hi = 0x1.921fb5p+0;
constexpr double kPio2Lo = 1.5893254773528196e-08;
constexpr double kTwoOverPi = 0.63661977236758138;

/** x = q pi/2 + r with |r| <= 0.786, the reduction done in double; q is k mod 2^32. */
struct QuadrantSplit {
  float r;
  u32 q;
};
static inline QuadrantSplit split_half_pi(float x) {
  double d = double(x);
  double t = d * kTwoOverPi + kRoundShifterD;
  double k = t - kRoundShifterD;
  float r = float((d - k * kPio2Hi) - k * kPio2Lo);
  // Past |x| ~ 2^53 the reduction is meaningless; the clamp keeps the result in [-1, 1].
  r = r < -0.786f ? -0.786f : r;
  r = r > 0.786f ? 0.786f : r;
  return {r, u32(bits(t))};
}

/** sin(q pi/2 + r). */
static inline float sin_quadrant(float r, u32 q) {
  float y = (q & 1u) ? cos_poly(r) : sin_poly(r);
  return float_from(bits(y) ^ ((q & 2u) << 30));
}

// Double-precision pieces of pow: log|x| to ~1e-12 relative, so y log|x| stays accurate to
// ~1e-10 absolute up to the overflow threshold, and an exp good to ~1e-13.
constexpr double kLn2HiD = 0x1.62e42fefa38p-1; // 44 bits: k * kLn2HiD exact for |k| < 512
constexpr double kLn2LoD = 5.497923018708371e-14;
constexpr double kLog2ED = 1.4426950408889634;
constexpr double kLn2D = 0.69314718055994531;

/** log(1 + f) for -0.2929 <= f <= 0.4143. Fit error 2.8e-12 relative. */
static inline double log1p_poly_double(double f) {
  double p = -0.048410576102414025;
  p = p * f + 0.091744623443210202;
  p = p * f + -0.09317624828313556;
  p = p * f + 0.09030009850513461;
  p = p * f + -0.098805845618274046;
  p = p * f + 0.11105780275156925;
  p = p * f + -0.12506610380971567;
  p = p * f + 0.14286208906115402;
  p = p * f + -0.16666490518919164;
  p = p * f + 0.19999987383209669;
  p = p * f + -0.25000002006063266;
  p = p * f + 0.33333333425212303;
  p = p * f + -0.4999999999376975;
  return f + (f * f) * p;
}

/** e^z for |z| <= 200 (or NaN). Fit error 8.0e-14 relative. */
static inline double exp_double(double z) {
  double t = z * kLog2ED + kRoundShifterD;
  double k = t - kRoundShifterD;
  double r = (z - k * kLn2HiD) - k * kLn2LoD;
  double q = 2.756053969657691e-06;
  q = q * r + 2.4875860349976596e-05;
  q = q * r + 0.00019841360170706759;
  q = q * r + 0.0013888822458369978;
  q = q * r + 0.0083333332457379266;
  q = q * r + 0.041666666884991141;
  q = q * r + 0.16666666666870883;
  q = q * r + 0.49999999999810735;
  double p = 1.0 + (r + (r * r) * q);
  u64 k_bits = bits(t) - bits(kRoundShifterD);
  return p * double_from((k_bits + 1023u) << 52);
}

// The public functions. They live in the namespace (so that unqualified calls to the helpers
// above never meet a global abs or nan) and are brought to global scope at the end.

/** |x|; clears the sign bit, so NaN stays NaN and -0 becomes +0. */
static inline float kiln_abs(float x) {
  return abs(x);
}

/** max(x, 0) as `x < 0 ? 0 : x`: NaN stays NaN, -0 stays -0. */
static inline float kiln_relu(float x) {
  return x < 0.0f ? 0.0f : x;
}

/**
 * `a > b ? a : b` for float, double or integers (one vmaxps for float). Not symmetric in NaN:
 * a NaN in a gives b, a NaN in b gives NaN.
 */
template <class T>
static inline T kiln_max(T a, T b) {
  return a > b ? a : b;
}

/** `a < b ? a : b`, as kiln_max: a NaN in a gives b, a NaN in b gives NaN. */
template <class T>
static inline T kiln_min(T a, T b) {
  return a < b ? a : b;
}

/** e^x, within 1 ulp; inf above 88.72, subnormal below -87.34 (gradual underflow), 0 below -103.98.
 */
static inline float kiln_exp(float x) {
  // Beyond these bounds the result is already inf or 0; the clamps keep 2^k representable.
  x = x < -104.0f ? -104.0f : x;
  x = x > 89.0f ? 89.0f : x;
  return exp_core(x);
}

/** e^x - 1, within 1 ulp, accurate near 0; -1 below -17.3, inf above 88.72. */
static inline float kiln_expm1(float x) {
  float c = x < -18.0f ? -18.0f : x;
  c = c > 89.0f ? 89.0f : c;
  float y = expm1_core(c);
  // expm1(x) rounds to x here; this also keeps -0 and subnormal x exact.
  return abs(x) < 0x1p-25f ? x : y;
}

/** Natural log, within 1 ulp for every x > 0 (subnormals included); log(0) = -inf, x < 0: NaN. */
static inline float kiln_log(float x) {
  bool subnormal = x < 0x1p-126f;
  LogSplit s = split_log(select(subnormal, x * 0x1p23f, x));
  float e = float(s.e) - select(subnormal, 23.0f, 0.0f);
  float y = log_combine(e, s.m - 1.0f, -0.0f); // adding -0 folds away
  y = select(x == inf(), x, y);
  return select(x > 0.0f, y, select(x == 0.0f, -inf(), nan()));
}

/** log(1 + x), within 1 ulp, accurate near 0; -inf at -1, NaN below. */
static inline float kiln_log1p(float x) {
  float u = 1.0f + x;
  // The rounding error of 1 + x (exact while u < 2^24; beyond, it is below u's last bit).
  float c = x - (u - 1.0f);
  LogSplit s = split_log(u);
  // log(u + c) = log(u) + c/u to far below an ulp. Folding c into m - 1 instead would round it.
  float y = log_combine(float(s.e), s.m - 1.0f, c / u);
  y = select(x == inf(), x, y);
  y = select(x > -1.0f, y, select(x == -1.0f, -inf(), nan()));
  return select(x == 0.0f, x, y);
}

/** tanh(x), within 1 ulp; a polynomial near 0, expm1(2|x|) / (expm1(2|x|) + 2) beyond. */
static inline float kiln_tanh(float x) {
  float a = abs(x);
  // tanh(10) rounds to 1; the clamp keeps expm1 finite.
  float c = a > 10.0f ? 10.0f : a;
  float em = expm1_core(2.0f * c);
  float y = a < kTanhSplit ? tanh_poly(a) : em / (em + 2.0f);
  return copy_sign(y, x);
}

/** 1 / (1 + e^-x), within 2 ulp (1 ulp for x >= 0); the result is subnormal below x = -87.3. */
static inline float kiln_sigmoid(float x) {
  float a = abs(x);
  // e^-|x| <= 1 keeps 1 + e from losing the small result for x < 0.
  float e = exp_core(a > 104.0f ? -104.0f : -a);
  return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

/** erf(x), within 1 ulp; a polynomial on |x| < 1, 1 - exp(log erfc poly) beyond. */
static inline float kiln_erf(float x) {
  float a = abs(x);
  float c = a > 4.0f ? 4.0f : a; // erf(4) rounds to 1
  c = c < 1.0f ? 1.0f : c;
  float y = a < 1.0f ? erf_poly(a) : 1.0f - exp_core(log_erfc_poly(c));
  return copy_sign(y, x);
}

/** sin(x), within 2 ulp for |x| <= 2^21 (see the file comment beyond); NaN for +-inf. */
static inline float kiln_sin(float x) {
  QuadrantSplit s = split_half_pi(x);
  float y = sin_quadrant(s.r, s.q);
  return x == 0.0f ? x : y;
}

/** cos(x), within 2 ulp for |x| <= 2^21 (see the file comment beyond); NaN for +-inf. */
static inline float kiln_cos(float x) {
  QuadrantSplit s = split_half_pi(x);
  return sin_quadrant(s.r, s.q + 1u);
}

/**
 * x^y as exp(y log x) computed in double: within 1 ulp for x > 0 and |y log x| < 88.
 * x < 0: finite integer y gives the signed result, other y NaN. pow(x, 0) = 1 for every x,
 * pow(1, y) = pow(-1, +-inf) = 1 for every y; x = +-0 and +-inf follow C99 (pow(-0, -3) = -inf,
 * pow(-inf, 0.5) = inf, ...).
 */
static inline float kiln_pow(float x, float y) {
  float ax = abs(x);
  bool subnormal = ax < 0x1p-126f;
  LogSplit s = split_log(select(subnormal, ax * 0x1p23f, ax));
  double e = double(s.e) - select(subnormal, 23.0, 0.0);
  double log_x = e * kLn2D + log1p_poly_double(double(s.m - 1.0f));
  log_x = select(ax == 0.0f, -double(inf()), log_x);
  log_x = select(ax == inf(), double(inf()), log_x);
  log_x = select(x != x, double(x), log_x);
  // log|x| = 0 (x = +-1) gives 0 even for y = inf or NaN.
  double z = select(log_x == 0.0, 0.0, double(y) * log_x);
  z = select(z < -200.0, -200.0, z);
  z = select(z > 200.0, 200.0, z);
  float r = float(exp_double(z));
  // Is y an integer, and odd? Below 2^23, adding 2^23 rounds |y| to an integer and leaves its
  // parity in the last bit; from 2^23 on every float is an integer, from 2^24 on an even one.
  // (Bitwise & and |: short circuits are branches. The parity stays an integer mask: g++ does
  // not vectorize a bool made from it.)
  float ay = abs(y);
  float t = ay + 0x1p23f;
  bool wide = ay >= 0x1p23f;
  bool integer = wide | (t - 0x1p23f == ay);
  u32 odd_sign = ((ay < 0x1p24f) & integer) ? bits(select(wide, ay, t)) << 31 : 0u;
  r = float_from(bits(r) | (bits(x) & odd_sign)); // r >= 0 here
  r = select((x < 0.0f) & (x != -inf()) & !integer, nan(), r);
  return select(y == 0.0f, 1.0f, r);
}

/**
 * sqrt(x), correctly rounded; sqrt(-0) = -0, x < 0 gives NaN. Under -fno-math-errno this is the
 * hardware instruction. Otherwise __builtin_sqrtf would keep a libm call for errno and block
 * vectorization, so it is computed here: three Newton steps for 1/sqrt in double and one
 * correction step leave an error below 2^-51, which rounds to the correctly rounded float.
 */
static inline float kiln_sqrt(float x) {
#if defined(__NO_MATH_ERRNO__)
  return __builtin_sqrtf(x);
#else
  // Initial 1/sqrt(d) from the exponent/mantissa bits, max relative error 0.0342 (the constant
  // minimises that error over [1, 4)).
  constexpr u64 kRsqrtMagic = 0x5fe6ec85d4e00000ull;
  double d = double(x);
  double r = double_from(kRsqrtMagic - (bits(d) >> 1));
  r = r * (1.5 - 0.5 * d * r * r);
  r = r * (1.5 - 0.5 * d * r * r);
  r = r * (1.5 - 0.5 * d * r * r);
  double s = d * r;
  s = s + 0.5 * r * (d - s * s);
  float y = float(s);
  y = select((x == 0.0f) | (x == inf()), x, y);
  return select(x < 0.0f, nan(), y);
#endif
}

/** |x|. */
static inline double kiln_abs(double x) {
  return double_from(bits(x) & 0x7fffffffffffffffull);
}
/** max(x, 0) as `x < 0 ? 0 : x`: NaN stays NaN. */
static inline double kiln_relu(double x) {
  return x < 0.0 ? 0.0 : x;
}
/** libm exp. */
static inline double kiln_exp(double x) {
  return __builtin_exp(x);
}
/** libm expm1. */
static inline double kiln_expm1(double x) {
  return __builtin_expm1(x);
}
/** libm log. */
static inline double kiln_log(double x) {
  return __builtin_log(x);
}
/** libm log1p. */
static inline double kiln_log1p(double x) {
  return __builtin_log1p(x);
}
/** libm tanh. */
static inline double kiln_tanh(double x) {
  return __builtin_tanh(x);
}
/** libm erf. */
static inline double kiln_erf(double x) {
  return __builtin_erf(x);
}
/** libm sin. */
static inline double kiln_sin(double x) {
  return __builtin_sin(x);
}
/** libm cos. */
static inline double kiln_cos(double x) {
  return __builtin_cos(x);
}
/** libm pow. */
static inline double kiln_pow(double x, double y) {
  return __builtin_pow(x, y);
}
/** libm sqrt (correctly rounded). */
static inline double kiln_sqrt(double x) {
  return __builtin_sqrt(x);
}

/**
 * 1 / (1 + e^-x) within 1 ulp. Computed in long double (x87 on x86-64): in double, the error of
 * exp alone can reach 1 ulp of the result.
 */
static inline double kiln_sigmoid(double x) {
  return double(1.0L / (1.0L + __builtin_expl(-static_cast<long double>(x))));
}

} // namespace kiln_math

using kiln_math::kiln_abs;
using kiln_math::kiln_cos;
using kiln_math::kiln_erf;
using kiln_math::kiln_exp;
using kiln_math::kiln_expm1;
using kiln_math::kiln_log;
using kiln_math::kiln_log1p;
using kiln_math::kiln_max;
using kiln_math::kiln_min;
using kiln_math::kiln_pow;
using kiln_math::kiln_relu;
using kiln_math::kiln_sigmoid;
using kiln_math::kiln_sin;
using kiln_math::kiln_sqrt;
using kiln_math::kiln_tanh;

#endif // KILN_CODEGEN_PRELUDE_KILN_MATH_H_
