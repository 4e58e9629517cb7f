#include "codegen/cuda_renderer.h"
#include "codegen/pcg32.h"

namespace kiln::codegen {

namespace {

// NVRTC has no __builtin_inf/nan, which c_literal spells for non-finite constants; the bit
// patterns are the IEEE ones. The index helpers keep generated loops free of repeated casts.
constexpr const char* kCommon = R"KILN(// kiln CUDA prelude: no headers, CUDA's device math only.
#define __builtin_inff() __int_as_float(0x7f800000)
#define __builtin_nanf(s) __int_as_float(0x7fc00000)
#define __builtin_inf() __longlong_as_double(0x7ff0000000000000LL)
#define __builtin_nan(s) __longlong_as_double(0x7ff8000000000000LL)
#ifndef kiln_smem
extern __shared__ __align__(16) unsigned char kiln_smem[];
#endif
__device__ __forceinline__ int kiln_align16(int bytes) { return (bytes + 15) & ~15; }
__device__ __forceinline__ long long kiln_align256(long long bytes) { return (bytes + 255) & ~255LL; }
__device__ __forceinline__ double kiln_exp(double x) { return exp(x); }
__device__ __forceinline__ double kiln_log(double x) { return log(x); }
__device__ __forceinline__ double kiln_tanh(double x) { return tanh(x); }
__device__ __forceinline__ double kiln_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
__device__ __forceinline__ double kiln_erf(double x) { return erf(x); }
__device__ __forceinline__ double kiln_sin(double x) { return sin(x); }
__device__ __forceinline__ double kiln_cos(double x) { return cos(x); }
__device__ __forceinline__ double kiln_pow(double x, double y) { return pow(x, y); }
__device__ __forceinline__ double kiln_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ double kiln_abs(double x) { return fabs(x); }
__device__ __forceinline__ double kiln_relu(double x) { return x < 0 ? 0.0 : x; }
__device__ __forceinline__ float kiln_erf(float x) { return erff(x); }
__device__ __forceinline__ float kiln_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ float kiln_abs(float x) { return fabsf(x); }
__device__ __forceinline__ float kiln_relu(float x) { return x < 0 ? 0.0f : x; }
template <class T> __device__ __forceinline__ T kiln_max(T a, T b) { return a > b ? a : b; }
template <class T> __device__ __forceinline__ T kiln_min(T a, T b) { return a < b ? a : b; }
)KILN";

// Accurate float math: CUDA's libdevice functions (max errors of 1-2 ulp).
constexpr const char* kAccurate =
    R"KILN(__device__ __forceinline__ float kiln_exp(float x) { return expf(x); }
__device__ __forceinline__ float kiln_log(float x) { return logf(x); }
__device__ __forceinline__ float kiln_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ float kiln_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float kiln_sin(float x) { return sinf(x); }
__device__ __forceinline__ float kiln_cos(float x) { return cosf(x); }
__device__ __forceinline__ float kiln_pow(float x, float y) { return powf(x, y); }
)KILN";

// Fast float math: the SFU intrinsics (ex2.approx, lg2.approx, sin/cos.approx). tanh goes
// through exp of a non-negative argument so it cannot overflow to inf/inf.
constexpr const char* kFast =
    R"KILN(__device__ __forceinline__ float kiln_exp(float x) { return __expf(x); }
__device__ __forceinline__ float kiln_log(float x) { return __logf(x); }
__device__ __forceinline__ float kiln_tanh(float x) {
  const float e = __expf(-2.0f * fabsf(x));
  return copysignf(__fdividef(1.0f - e, 1.0f + e), x);
}
__device__ __forceinline__ float kiln_sigmoid(float x) { return __fdividef(1.0f, 1.0f + __expf(-x)); }
__device__ __forceinline__ float kiln_sin(float x) { return __sinf(x); }
__device__ __forceinline__ float kiln_cos(float x) { return __cosf(x); }
__device__ __forceinline__ float kiln_pow(float x, float y) { return __powf(x, y); }
)KILN";

// Block-wide reductions over a power-of-two block, through shared memory `red` (blockDim.x
// elements). Every thread of the block must call them; every thread gets the result.
constexpr const char* kBlockReduce = R"KILN(template <class T>
__device__ __forceinline__ T kiln_block_sum(T v, T* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const T r = red[0];
  __syncthreads();
  return r;
}
template <class T>
__device__ __forceinline__ T kiln_block_max(T v, T* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && red[threadIdx.x] < red[threadIdx.x + s]) red[threadIdx.x] = red[threadIdx.x + s];
    __syncthreads();
  }
  const T r = red[0];
  __syncthreads();
  return r;
}
)KILN";

} // namespace

const std::string& cuda_prelude(bool fast_math) {
  static const std::string accurate = std::string(kCommon) + kAccurate + kBlockReduce + pcg32_source("__device__ __forceinline__");
  static const std::string fast = std::string(kCommon) + kFast + kBlockReduce + pcg32_source("__device__ __forceinline__");
  return fast_math ? fast : accurate;
}

} // namespace kiln::codegen
