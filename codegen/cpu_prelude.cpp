#include "codegen/cpu_renderer.h"

namespace kiln::codegen {

// TEMPORARY: scalar libm builtins until codegen/prelude/kiln_math.h lands.
const std::string& cpu_prelude() {
  static const std::string s = R"(
static inline float kiln_exp(float x) { return __builtin_expf(x); }
static inline double kiln_exp(double x) { return __builtin_exp(x); }
static inline float kiln_log(float x) { return __builtin_logf(x); }
static inline double kiln_log(double x) { return __builtin_log(x); }
static inline float kiln_tanh(float x) { return __builtin_tanhf(x); }
static inline double kiln_tanh(double x) { return __builtin_tanh(x); }
static inline float kiln_sigmoid(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }
static inline double kiln_sigmoid(double x) { return 1.0 / (1.0 + __builtin_exp(-x)); }
static inline float kiln_erf(float x) { return __builtin_erff(x); }
static inline double kiln_erf(double x) { return __builtin_erf(x); }
static inline float kiln_sin(float x) { return __builtin_sinf(x); }
static inline double kiln_sin(double x) { return __builtin_sin(x); }
static inline float kiln_cos(float x) { return __builtin_cosf(x); }
static inline double kiln_cos(double x) { return __builtin_cos(x); }
static inline float kiln_pow(float x, float y) { return __builtin_powf(x, y); }
static inline double kiln_pow(double x, double y) { return __builtin_pow(x, y); }
static inline float kiln_sqrt(float x) { return __builtin_sqrtf(x); }
static inline double kiln_sqrt(double x) { return __builtin_sqrt(x); }
static inline float kiln_abs(float x) { return __builtin_fabsf(x); }
static inline double kiln_abs(double x) { return __builtin_fabs(x); }
static inline float kiln_relu(float x) { return x < 0 ? 0.0f : x; }
static inline double kiln_relu(double x) { return x < 0 ? 0.0 : x; }
template <class T> static inline T kiln_max(T a, T b) { return a > b ? a : b; }
template <class T> static inline T kiln_min(T a, T b) { return a < b ? a : b; }
)";
  return s;
}

} // namespace kiln::codegen
