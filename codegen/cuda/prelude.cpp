#include "codegen/counter_hash.h"
#include "codegen/cuda/renderer.h"
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
extern __shared__ __align__(128) unsigned char kiln_smem[];
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

// A block-wide reduction over a power-of-two block, through shared memory `red` (blockDim.x
// elements), folding with `combine` (the op's rule, codegen/c_like.h reduce_combiner). Every
// thread of the block must call it; every thread gets the result.
constexpr const char* kBlockReduce = R"KILN(template <class T, class F>
__device__ __forceinline__ T kiln_block_reduce(T v, T* red, F combine) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] = combine(red[threadIdx.x], red[threadIdx.x + s]);
    __syncthreads();
  }
  const T r = red[0];
  __syncthreads();
  return r;
}
)KILN";

// Tensor cores in TF32 (sm_80 and newer) through PTX's warp-level wmma, whose fragment layouts
// are the hardware's business: every lane of a warp calls these with the same arguments. A and
// B tiles are row-major in shared memory, 32-byte aligned, pitches a multiple of 4 floats. The
// operands are rounded to TF32 (10-bit mantissa, to nearest) first; the sums stay f32. The
// tests' CPU emulator of the CUDA dialect brings its own versions (KILN_HAVE_TENSOR_CORES).
constexpr const char* kTensorCores = R"KILN(#ifndef KILN_HAVE_TENSOR_CORES
struct kiln_tc_acc { float v[8]; };
__device__ __forceinline__ void kiln_tc_zero(kiln_tc_acc& c) {
#pragma unroll
  for (int i = 0; i < 8; ++i) c.v[i] = 0.0f;
}
__device__ __forceinline__ unsigned kiln_tf32(unsigned x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(__uint_as_float(x)));
  return r;
}
// c += a (16 x 8, pitch lda) b (8 x 16, pitch ldb)
__device__ __forceinline__ void kiln_tc_mma(kiln_tc_acc& c, const float* a, int lda, const float* b, int ldb) {
  unsigned a0, a1, a2, a3, b0, b1, b2, b3;
  asm volatile("wmma.load.a.sync.aligned.row.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
               : "=r"(a0), "=r"(a1), "=r"(a2), "=r"(a3) : "l"(a), "r"(lda));
  asm volatile("wmma.load.b.sync.aligned.row.m16n16k8.tf32 {%0, %1, %2, %3}, [%4], %5;"
               : "=r"(b0), "=r"(b1), "=r"(b2), "=r"(b3) : "l"(b), "r"(ldb));
  a0 = kiln_tf32(a0); a1 = kiln_tf32(a1); a2 = kiln_tf32(a2); a3 = kiln_tf32(a3);
  b0 = kiln_tf32(b0); b1 = kiln_tf32(b1); b2 = kiln_tf32(b2); b3 = kiln_tf32(b3);
  asm volatile("wmma.mma.sync.aligned.row.row.m16n16k8.f32.tf32.tf32.f32 "
               "{%0, %1, %2, %3, %4, %5, %6, %7}, {%8, %9, %10, %11}, {%12, %13, %14, %15}, "
               "{%0, %1, %2, %3, %4, %5, %6, %7};"
               : "+f"(c.v[0]), "+f"(c.v[1]), "+f"(c.v[2]), "+f"(c.v[3]), "+f"(c.v[4]),
                 "+f"(c.v[5]), "+f"(c.v[6]), "+f"(c.v[7])
               : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(b2), "r"(b3));
}
// d (16 x 16, pitch ldd) = c
__device__ __forceinline__ void kiln_tc_store(float* d, int ldd, const kiln_tc_acc& c) {
  asm volatile("wmma.store.d.sync.aligned.row.m16n16k8.f32 [%0], {%1, %2, %3, %4, %5, %6, %7, %8}, %9;"
               :: "l"(d), "f"(c.v[0]), "f"(c.v[1]), "f"(c.v[2]), "f"(c.v[3]), "f"(c.v[4]),
                  "f"(c.v[5]), "f"(c.v[6]), "f"(c.v[7]), "r"(ldd) : "memory");
}
#endif
)KILN";

} // namespace

const std::string& cuda_prelude(bool fast_math, bool tensor_cores) {
  static const std::string pcg = pcg32_source("__device__ __forceinline__") +
                                 counter_hash_source("__device__ __forceinline__");
  static const std::string accurate = std::string(kCommon) + kAccurate + kBlockReduce + pcg;
  static const std::string fast = std::string(kCommon) + kFast + kBlockReduce + pcg;
  static const std::string accurate_tc = accurate + kTensorCores;
  static const std::string fast_tc = fast + kTensorCores;
  if (tensor_cores)
    return fast_math ? fast_tc : accurate_tc;
  return fast_math ? fast : accurate;
}

} // namespace kiln::codegen
