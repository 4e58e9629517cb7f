#pragma once
// Shared by the CUDA runtime tests: the representative kernels, a scoped environment variable,
// a scratch directory, and readers for the CUBIN's ELF header.

#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include "tests/support/temp_dir.h"
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include <unistd.h>

namespace kiln::test {

// What the CUDA renderer will emit: self-contained (no #include), extern "C", grid-stride.
// block_sum needs a power-of-two block and blockDim.x floats of dynamic shared memory.
inline const char* const kFusedKernels = R"(
extern "C" __global__ void fused_tanh_affine(const float* __restrict__ x, float* __restrict__ y,
                                             float a, float b, int n) {
  const int stride = (int)(blockDim.x * gridDim.x);
  for (int i = (int)(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += stride)
    y[i] = tanhf(a * x[i] + b);
}

extern "C" __global__ void block_sum(const float* __restrict__ x, float* __restrict__ partial,
                                     int n) {
  extern __shared__ float smem[];
  const int stride = (int)(blockDim.x * gridDim.x);
  float acc = 0.0f;
  for (int i = (int)(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += stride) acc += x[i];
  smem[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) smem[threadIdx.x] += smem[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = smem[0];
}
)";

/** True when `s` holds nothing but whitespace (NVRTC's log of a warning-free compile). */
inline bool blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

/** Little-endian unsigned integer of `bytes` bytes at `at`. */
inline uint64_t le(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(b.at(at + i))) << (8 * i);
  return v;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/** Sets (or, with nullopt, unsets) an environment variable; restores it on destruction. */
class ScopedEnv {
public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
  const char* name_;
  std::optional<std::string> old_;
};

} // namespace kiln::test
